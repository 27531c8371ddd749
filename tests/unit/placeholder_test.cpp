#include <gtest/gtest.h>
#include "common/util.h"
TEST(Util, CleanPath) { EXPECT_EQ(nsbox::clean_path("/a/../b//c/."), "/b/c"); }
