#include "common/util.h"

#include <gtest/gtest.h>

using nsbox::clean_path;
using nsbox::parse_int64;

TEST(Util, CleanPath) {
  EXPECT_EQ(clean_path("/a/../b//c/."), "/b/c");
  EXPECT_EQ(clean_path("/../.."), "/");
}

TEST(Util, ParseInt64) {
  long long v = 0;
  EXPECT_TRUE(parse_int64("-42", &v));
  EXPECT_EQ(v, -42);
  EXPECT_TRUE(parse_int64("9223372036854775807", &v));
  EXPECT_FALSE(parse_int64("9223372036854775808", &v));
  EXPECT_FALSE(parse_int64("12x", &v));
  EXPECT_FALSE(parse_int64("", &v));
}

TEST(Util, Split) {
  auto parts = nsbox::split("a::b", ':');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
}

TEST(Util, Quoted) { EXPECT_EQ(nsbox::quoted("a\"b\\c\nd"), "\"a\\\"b\\\\c\\x0ad\""); }
