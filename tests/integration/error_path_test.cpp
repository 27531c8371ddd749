// Error paths through the syscall seam: libnsbox is driven in-process with a
// failure injected at one syscall; create must fail with that error and leave
// nothing behind.
#include <gtest/gtest.h>

#include "common/syscalls.h"
#include "container/container.h"
#include "harness.h"

using nsbox::it::Sandbox;
namespace sys = nsbox::sys;

namespace {

void expect_create_fails(sys::Call call, int err, const std::string& want) {
  Sandbox sb;
  nsbox::container::Runtime rt;
  rt.root = sb.root();
  nsbox::container::CreateOptions opt;
  opt.id = sb.new_id("seam");
  opt.bundle = sb.bundle(Sandbox::default_config({"true"}));
  sys::inject_failure(call, err);
  auto r = nsbox::container::create(rt, opt);
  sys::clear_failures();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().msg.find(want), std::string::npos) << r.error().msg;
  EXPECT_EQ(sb.leftovers(), "");
}

}  // namespace

TEST(SyscallSeam, Clone3FailureLeavesNothing) {
  expect_create_fails(sys::Call::kClone3, EAGAIN, "clone3: Resource temporarily unavailable");
}

TEST(SyscallSeam, PivotRootFailureInInitLeavesNothing) {
  // The injection is inherited by the cloned init, where pivot_root runs.
  expect_create_fails(sys::Call::kPivotRoot, EINVAL, "pivot_root");
}
