// The test binary uses the whale binary's malloc settings (core/allocator.h), so in-process training and RL
// runs go at the speed users see.
#include <gtest/gtest.h>

#include "core/allocator.h"

namespace {

class AllocatorEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { whale::keep_large_allocations_in_heap(); }
};

[[maybe_unused]] const ::testing::Environment* const kAllocatorEnvironment =
    ::testing::AddGlobalTestEnvironment(new AllocatorEnvironment);

}  // namespace
