#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace whale {
namespace {

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  ThreadPool pool(3);
  for (size_t n : {1u, 7u, 100u, 1001u}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, 3, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) hits[i]++;
    });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPool, ReusableManyTimes) {
  ThreadPool pool(2);
  std::atomic<long> sum{0};
  for (int rep = 0; rep < 2000; ++rep)
    pool.parallel_for(64, 1, [&](size_t b, size_t e) { sum += long(e - b); });
  EXPECT_EQ(sum.load(), 2000L * 64);
}

TEST(DType, Bf16RoundTripAndRounding) {
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.5f)), 1.5f);
  EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 256), f32_to_bf16(1.0f));  // tie → even
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(-3.140625f)), -3.140625f);
}

TEST(DType, F16MatchesKnownValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  for (uint16_t h : {0x3c00, 0x0001, 0x03ff, 0x7bff, 0x8400, 0x1234})
    EXPECT_EQ(f32_to_f16(f16_to_f32(h)), h) << h;
}

TEST(DType, F8E4M3MatchesKnownValues) {
  EXPECT_EQ(f8e4m3_to_f32(0x38), 1.0f);   // exp 7, mant 0
  EXPECT_EQ(f8e4m3_to_f32(0x7e), 448.0f); // largest finite
  EXPECT_EQ(f8e4m3_to_f32(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(f8e4m3_to_f32(0xb8), -1.0f);
  EXPECT_TRUE(std::isnan(f8e4m3_to_f32(0x7f)));
  for (int c = 0; c < 0x7f; ++c) EXPECT_EQ(f32_to_f8e4m3(f8e4m3_to_f32(uint8_t(c))), c);
}

TEST(DType, ParseRejectsUnknown) {
  EXPECT_EQ(parse_dtype("BF16", "t"), DType::BF16);
  EXPECT_THROW(parse_dtype("F8_E5M2", "t"), Error);
}

TEST(MatrixView, Fp8BlockScalesApplyPerBlockWithPartialEdges) {
  // 130 x 3 matrix: two row blocks (128 + 2), one column block.
  std::vector<uint8_t> w(130 * 3, 0x38);  // all 1.0
  std::vector<float> scale = {2.0f, 0.5f};
  MatrixView m{DType::F8E4M3, 130, 3, w.data(), scale.data()};
  EXPECT_EQ(m.at(0, 0), 2.0f);
  EXPECT_EQ(m.at(127, 2), 2.0f);
  EXPECT_EQ(m.at(128, 0), 0.5f);
  EXPECT_EQ(m.at(129, 2), 0.5f);
}

}  // namespace
}  // namespace whale
