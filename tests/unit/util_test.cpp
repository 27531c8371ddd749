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

// Memory flags as docker/runc read them (binary multiples).
TEST(Util, ParseBytes) {
  const std::pair<const char*, long long> good[] = {
      {"1024", 1024},     {"512k", 512 << 10}, {"32m", 32 << 20},   {"32M", 32 << 20},
      {"64MB", 64 << 20}, {"2GiB", 2LL << 30}, {"1.5g", 3LL << 29}, {"-1", -1},
      {"7b", 7},          {"1 kb", 1024},      {"1t", 1LL << 40},   {"0", 0},
  };
  for (const auto& [text, want] : good) {
    long long v = 0;
    EXPECT_TRUE(nsbox::parse_bytes(text, &v)) << text;
    EXPECT_EQ(v, want) << text;
  }
  for (const char* bad : {"", "m", "12x", "-2", "1.2.3", ".5m", "5.m", "1e3", "10000000p", "k1"}) {
    long long v = 0;
    EXPECT_FALSE(nsbox::parse_bytes(bad, &v)) << bad;
  }
}
