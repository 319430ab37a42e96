// Byte layouts of GGUF's block-quantized types, as the GGUF format specifies them (little-endian, packed,
// no padding). A row of n elements is n / kElems consecutive blocks. Value formulas are in tensor/quant.cc.
#pragma once

#include <cstddef>
#include <cstdint>

namespace whale::quant {

constexpr int64_t kBlock32 = 32;    // the "legacy" types and IQ4_NL
constexpr int64_t kBlockK = 256;    // the k-quants (super-blocks) and IQ4_XS

#pragma pack(push, 1)
struct BlockQ4_0 {  // x = d · (q − 8), q 4-bit
  uint16_t d;       // f16
  uint8_t qs[16];   // element j in low nibble of qs[j], element j+16 in the high nibble
};
struct BlockQ4_1 {  // x = d · q + m
  uint16_t d, m;    // f16
  uint8_t qs[16];
};
struct BlockQ5_0 {  // x = d · (q − 16), q 5-bit: low nibble as Q4_0, 5th bit of element j is bit j of qh
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ5_1 {  // x = d · q + m
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ8_0 {  // x = d · q
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ8_1 {  // x = d · q; s = d · Σq (activations of Q4_1/Q5_1 dot products)
  uint16_t d, s;
  int8_t qs[32];
};
struct BlockQ4_K {    // 8 sub-blocks of 32: x = d · sc_i · q − dmin · m_i, sc/m 6-bit packed in scales
  uint16_t d, dmin;   // f16 super-block scales
  uint8_t scales[12];
  uint8_t qs[128];    // 4-bit; sub-block pairs (2i, 2i+1) share 32 bytes: low then high nibbles
};
struct BlockQ5_K {  // as Q4_K with a 5th bit per element in qh
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
struct BlockQ6_K {   // 16 sub-blocks of 16: x = d · sc_i · (q − 32), q 6-bit
  uint8_t ql[128];   // low 4 bits
  uint8_t qh[64];    // high 2 bits
  int8_t scales[16];
  uint16_t d;
};
struct BlockQ8_K {    // activations of k-quant dot products: x = d · q
  float d;
  int8_t qs[256];
  int16_t bsums[16];  // sums of q over each group of 16
};
struct BlockIQ4_NL {  // x = d · kIQ4NL[q], q 4-bit index, nibble order as Q4_0
  uint16_t d;
  uint8_t qs[16];
};
struct BlockIQ4_XS {   // 8 sub-blocks of 32: x = d · (ls_i − 32) · kIQ4NL[q], ls 6-bit
  uint16_t d;
  uint16_t scales_h;   // high 2 bits of each ls_i
  uint8_t scales_l[4]; // low 4 bits of each ls_i
  uint8_t qs[128];
};
#pragma pack(pop)

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 &&
              sizeof(BlockQ8_K) == 292 && sizeof(BlockIQ4_NL) == 18 && sizeof(BlockIQ4_XS) == 136);

// The non-uniform 4-bit codebook of IQ4_NL / IQ4_XS.
inline constexpr int8_t kIQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

}  // namespace whale::quant
