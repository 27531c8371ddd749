// CVE-2021-30465 class (issue 6): mount destinations, readonlyPaths and
// maskedPaths under a directory that another process keeps swapping
// (renameat2 RENAME_EXCHANGE) with a symlink to a host directory, or to
// another directory of the rootfs. Whatever the timing, nothing may be
// created or mounted on the host, and every mount nsbox makes must carry the
// flags it was asked for (a remount that lands on another mount would leave
// a read-only volume writable). Create may fail or succeed under the race.
//
// The host directory the symlinks point at is a *shared* tmpfs owned by the
// test, and those bundles ask for rootfsPropagation "rshared": a mount made
// on it inside the container's mount namespace propagates back, so an escape
// shows in the host's /proc/self/mountinfo instead of vanishing with the
// container's old root. Each raced test stops at the first damage.
//
// Every rootfs here is a private copy (never the shared build/bundle/rootfs).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::run_program;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace fs = std::filesystem;

namespace {

constexpr int kRacedCreates = 40;  // creates while the swapper runs (bounded)
constexpr int kPerDir = 3;         // mounts of each kind under each swapped directory

std::string copy_rootfs(Sandbox& sb, const std::string& name = "rootfs") {
  std::string dst = sb.dir() + "/" + name;
  auto o = run_program({"/bin/cp", "-a", nsbox::it::rootfs_path(), dst});
  EXPECT_EQ(o.status, 0) << o.err;
  return dst;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A tmpfs the test mounts on the host (optionally shared), detached on
// destruction: declare it after the Sandbox so it goes first.
class HostTmpfs {
 public:
  HostTmpfs(const std::string& path, bool shared) : path_(path) {
    fs::create_directories(path);
    ok_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, "size=1m") == 0;
    if (ok_ && shared) ok_ = ::mount(nullptr, path.c_str(), nullptr, MS_SHARED, nullptr) == 0;
    struct stat st {};
    if (ok_ && ::stat(path.c_str(), &st) == 0) {
      dev_ = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    }
  }
  ~HostTmpfs() { ::umount2(path_.c_str(), MNT_DETACH); }
  HostTmpfs(const HostTmpfs&) = delete;
  HostTmpfs& operator=(const HostTmpfs&) = delete;
  bool ok() const { return ok_ && !dev_.empty(); }
  // "major:minor" as mountinfo shows it.
  const std::string& dev() const { return dev_; }

 private:
  std::string path_;
  std::string dev_;
  bool ok_ = false;
};

// Exchanges each pair of names (relative to `dir`) in a loop until destroyed.
class Swapper {
 public:
  Swapper(const std::string& dir, std::vector<std::pair<std::string, std::string>> pairs)
      : dirfd_(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)), pairs_(std::move(pairs)) {
    thread_ = std::thread([this] {
      while (!stop_.load(std::memory_order_relaxed)) {
        for (const auto& [a, b] : pairs_) {
          if (::renameat2(dirfd_, a.c_str(), dirfd_, b.c_str(), RENAME_EXCHANGE) == 0) {
            swaps_.fetch_add(1, std::memory_order_relaxed);
          } else {
            errors_.fetch_add(1, std::memory_order_relaxed);
          }
        }
      }
    });
  }
  ~Swapper() { stop(); }
  Swapper(const Swapper&) = delete;
  Swapper& operator=(const Swapper&) = delete;

  // Stops the loop and puts every pair back in its original order (the
  // second name of each pair is the symlink).
  void stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    for (const auto& [a, b] : pairs_) {
      struct stat st {};
      if (::fstatat(dirfd_, b.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode)) {
        ::renameat2(dirfd_, a.c_str(), dirfd_, b.c_str(), RENAME_EXCHANGE);
      }
    }
    ::close(dirfd_);
  }
  long swaps() const { return swaps_.load(); }
  long errors() const { return errors_.load(); }

 private:
  int dirfd_;
  std::vector<std::pair<std::string, std::string>> pairs_;
  std::atomic<bool> stop_{false};
  std::atomic<long> swaps_{0};
  std::atomic<long> errors_{0};
  std::thread thread_;
};

struct MountLine {
  std::string dev;         // major:minor
  std::string root;        // root of the mount in its filesystem
  std::string mountpoint;  // as seen by the reader of the file
  std::string opts;        // per-mount options, with commas around
  std::string fstype;
  std::string super_opts;  // with commas around
};

std::vector<MountLine> parse_mountinfo(const std::string& text) {
  std::vector<MountLine> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, field;
    MountLine m;
    f >> id >> parent >> m.dev >> m.root >> m.mountpoint >> m.opts;
    while (f >> field && field != "-") {
    }
    std::string source;
    f >> m.fstype >> source >> m.super_opts;
    m.opts = "," + m.opts + ",";
    m.super_opts = "," + m.super_opts + ",";
    out.push_back(std::move(m));
  }
  return out;
}

bool is_ro(const MountLine& m) { return contains(m.opts, ",ro,"); }

std::set<std::string> listing(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
  return out;
}

// Problems with the host directory `host` ("" when untouched): a mount on it
// or below it (beyond the test's own tmpfs), an entry created or removed,
// the marker changed or hidden.
std::string host_damage(const std::string& host, const std::set<std::string>& want_listing,
                        const std::map<std::string, std::string>& want_content) {
  std::string out;
  int own = 0, below = 0;
  for (const auto& m : parse_mountinfo(slurp("/proc/self/mountinfo"))) {
    if (m.mountpoint == host) ++own;
    if (m.mountpoint.rfind(host + "/", 0) != 0) continue;
    if (++below <= 3) out += "host mount on " + m.mountpoint + "; ";
  }
  if (below > 3) out += std::to_string(below) + " host mounts below " + host + " in all; ";
  if (own != 1) out += std::to_string(own) + " mounts on " + host + "; ";
  if (listing(host) != want_listing) out += "entries of " + host + " changed; ";
  for (const auto& [name, text] : want_content) {
    if (slurp(host + "/" + name) != text) out += host + "/" + name + " changed or hidden; ";
  }
  return out;
}

json base_config(const std::string& rootfs) {
  auto cfg = Sandbox::default_config({"true"});
  cfg["root"] = {{"path", rootfs}, {"readonly", false}};
  // Mounts on a shared host mount come back to the host (see the top).
  cfg["linux"]["rootfsPropagation"] = "rshared";
  return cfg;
}

json mount_entry(const std::string& dest, const std::string& type, const std::string& source,
                 const std::vector<std::string>& options) {
  return {{"destination", dest}, {"type", type}, {"source", source}, {"options", options}};
}

// A relative symlink target climbing with ".." to the absolute `host`: from
// a link at <rootfs>/<name> it reaches `host` on the host, and
// <rootfs>/<host> when resolved in-root (".." stops at the root).
std::string relative_link_to(const std::string& host) {
  std::string up;
  for (int i = 0; i < 16; ++i) up += "../";
  return up + host.substr(1);
}

struct CreateStats {
  int ok = 0;
  int failed = 0;
  int through_link = 0;  // creates where a mount landed through a swapped-in symlink
  std::map<std::string, int> errors;
};

void note_failure(CreateStats* st, const std::string& err) {
  ++st->failed;
  std::string line = err.substr(0, err.find('\n'));
  // Group by the part naming the failure, without the container ID.
  size_t pos = line.find("mounts[");
  if (pos == std::string::npos) pos = line.find("linux.");
  if (pos != std::string::npos) line = line.substr(pos);
  ++st->errors[line];
}

void print_stats(const char* what, const CreateStats& st, const Swapper& sw) {
  std::cout << "[ MountRace ] " << what << ": " << st.ok << " created, " << st.failed << " failed, "
            << st.through_link << " with a mount through a swapped symlink, " << sw.swaps()
            << " swaps\n";
  for (const auto& [e, n] : st.errors) std::cout << "[ MountRace ]   " << n << "x " << e << "\n";
}

// Runs one create of `bundle`: on success `check` gets the container's pid,
// then the container is deleted; on failure the error is counted. Then the
// host is checked: false when it was damaged.
bool create_once(Sandbox& sb, const std::string& bundle, CreateStats* st,
                 const std::function<void(int, CreateStats*)>& check,
                 const std::function<std::string()>& host_check) {
  std::string id = sb.new_id("race");
  auto o = sb.nsbox({"create", "-b", bundle, id});
  if (o.status == 0) {
    ++st->ok;
    int pid = sb.pid_of(id);
    EXPECT_GT(pid, 0);
    if (pid > 0) check(pid, st);
    EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0) << id;
  } else {
    note_failure(st, o.err);
  }
  std::string damage = host_check();
  EXPECT_EQ(damage, "");
  return damage.empty();
}

// A baseline create without the race (the bundle is valid: failures below
// are the race's), then kRacedCreates with the swapper running.
void race(Sandbox& sb, const std::string& what, const std::string& rootfs,
          std::vector<std::pair<std::string, std::string>> pairs, const std::string& bundle,
          const std::function<void(int, CreateStats*)>& check,
          const std::function<std::string()>& host_check) {
  CreateStats baseline;
  create_once(sb, bundle, &baseline, check, host_check);
  ASSERT_EQ(baseline.ok, 1) << baseline.errors.begin()->first;
  ASSERT_EQ(baseline.through_link, 0);
  CreateStats raced;
  Swapper swapper(rootfs, std::move(pairs));
  // Stop at the first damage: mounts leaking onto a shared host directory
  // propagate and multiply with every further create.
  bool intact = true;
  for (int i = 0; i < kRacedCreates && intact && !::testing::Test::HasFatalFailure(); ++i) {
    intact = create_once(sb, bundle, &raced, check, host_check);
  }
  swapper.stop();
  print_stats(what.c_str(), raced, swapper);
  if (intact) {
    EXPECT_EQ(raced.ok + raced.failed, kRacedCreates);
  }
}

}  // namespace

// Mounts (tmpfs rw and ro, read-only directory and file binds of a host
// volume) below two directories swapped with an absolute symlink to the host
// directory and with a relative one climbing to it. Nothing may appear in
// or on the host directory; a mount landing through the symlink lands in
// the rootfs (where the symlink resolves in-root) with its own flags.
TEST(MountRace, SwappedDestinationParentNeverReachesTheHost) {
  Sandbox sb;
  std::string rootfs = copy_rootfs(sb);
  std::string host = sb.dir() + "/host";
  HostTmpfs host_mnt(host, true);
  ASSERT_TRUE(host_mnt.ok()) << strerror(errno);
  write(host + "/marker", "marker\n");
  const std::set<std::string> host_listing = {"marker"};
  const std::map<std::string, std::string> host_content = {{"marker", "marker\n"}};
  // The read-only volume: its own tmpfs, its binds told apart by device.
  std::string vol = sb.dir() + "/vol";
  HostTmpfs vol_mnt(vol, false);
  ASSERT_TRUE(vol_mnt.ok()) << strerror(errno);
  write(vol + "/data", "volume\n");

  fs::create_directories(rootfs + "/race");
  fs::create_directories(rootfs + "/rrace");
  fs::create_symlink(host, rootfs + "/race-swap");
  fs::create_symlink(relative_link_to(host), rootfs + "/rrace-swap");

  auto cfg = base_config(rootfs);
  // Names differ between the two directories: both symlinks lead to the
  // same place, where mounts must not stack (stacked binds of a shared
  // volume would propagate copies of each other).
  for (auto [dir, p] : {std::pair{"/race/", "a"}, std::pair{"/rrace/", "c"}}) {
    std::string d = std::string(dir) + p;
    for (int i = 0; i < kPerDir; ++i) {
      std::string n = std::to_string(i);
      cfg["mounts"].push_back(mount_entry(d + "t" + n, "tmpfs", "tmpfs", {"size=16k"}));
      cfg["mounts"].push_back(mount_entry(d + "r" + n, "tmpfs", "tmpfs", {"ro", "size=12k"}));
      cfg["mounts"].push_back(mount_entry(d + "b" + n, "bind", vol, {"rbind", "ro"}));
      cfg["mounts"].push_back(mount_entry(d + "f" + n, "bind", vol + "/data", {"bind", "ro"}));
    }
  }
  std::string bundle = sb.bundle(cfg);

  auto check = [&](int pid, CreateStats* st) {
    std::string text = slurp("/proc/" + std::to_string(pid) + "/mountinfo");
    int vol_ro = 0, small_ro = 0;
    bool through = false;
    for (const auto& m : parse_mountinfo(text)) {
      if (m.mountpoint.rfind(host, 0) == 0) through = true;  // the in-root copy of the path
      if (m.dev == vol_mnt.dev()) {
        EXPECT_TRUE(is_ro(m)) << "read-only bind is writable at " << m.mountpoint;
        ++vol_ro;
      }
      if (m.fstype == "tmpfs" && contains(m.super_opts, ",size=12k,")) {
        EXPECT_TRUE(is_ro(m)) << "read-only tmpfs is writable at " << m.mountpoint;
        ++small_ro;
      }
    }
    EXPECT_EQ(vol_ro, 4 * kPerDir) << text;
    EXPECT_EQ(small_ro, 2 * kPerDir) << text;
    if (through) ++st->through_link;
  };
  race(sb, "mount destinations", rootfs, {{"race", "race-swap"}, {"rrace", "rrace-swap"}}, bundle,
       check, [&] { return host_damage(host, host_listing, host_content); });
  EXPECT_EQ(host_damage(host, host_listing, host_content), "");
  EXPECT_EQ(slurp(vol + "/data"), "volume\n");
  EXPECT_EQ(sb.leftovers(), "");
}

// A directory swapped with a symlink to another rootfs directory that holds
// mounts asked to be writable: the read-only remount of a mount made below
// the swapped directory (a bind now, a tmpfs in finalize) must reach that
// mount, never the writable one the path leads to a moment later.
TEST(MountRace, SwappedDestinationKeepsEachMountsFlags) {
  Sandbox sb;
  std::string rootfs = copy_rootfs(sb);
  std::string vol = sb.dir() + "/vol", vol2 = sb.dir() + "/vol2";
  HostTmpfs vol_mnt(vol, false), vol2_mnt(vol2, false);
  ASSERT_TRUE(vol_mnt.ok() && vol2_mnt.ok()) << strerror(errno);
  fs::create_directories(rootfs + "/srace");
  fs::create_directories(rootfs + "/decoy");
  fs::create_symlink("/decoy", rootfs + "/srace-swap");

  auto cfg = Sandbox::default_config({"true"});
  cfg["root"] = {{"path", rootfs}, {"readonly", false}};
  for (int i = 0; i < kPerDir; ++i) {
    std::string n = std::to_string(i);
    cfg["mounts"].push_back(mount_entry("/decoy/b" + n, "bind", vol2, {"rbind", "rw"}));
    cfg["mounts"].push_back(mount_entry("/decoy/r" + n, "tmpfs", "tmpfs", {"size=20k"}));
  }
  for (int i = 0; i < kPerDir; ++i) {
    std::string n = std::to_string(i);
    cfg["mounts"].push_back(mount_entry("/srace/b" + n, "bind", vol, {"rbind", "ro"}));
    cfg["mounts"].push_back(mount_entry("/srace/r" + n, "tmpfs", "tmpfs", {"ro", "size=12k"}));
  }
  std::string bundle = sb.bundle(cfg);

  auto check = [&](int pid, CreateStats* st) {
    std::string text = slurp("/proc/" + std::to_string(pid) + "/mountinfo");
    int ro_binds = 0, rw_binds = 0, ro_tmpfs = 0, rw_tmpfs = 0;
    bool through = false;
    for (const auto& m : parse_mountinfo(text)) {
      bool small = m.fstype == "tmpfs" && contains(m.super_opts, ",size=12k,");
      bool decoy = m.fstype == "tmpfs" && contains(m.super_opts, ",size=20k,");
      // A read-only mount stacked on a decoy went through the symlink.
      if ((m.dev == vol_mnt.dev() || small) && m.mountpoint.rfind("/decoy/", 0) == 0) {
        through = true;
      }
      if (m.dev == vol_mnt.dev() || small) {
        EXPECT_TRUE(is_ro(m)) << "read-only mount is writable at " << m.mountpoint;
        ++(small ? ro_tmpfs : ro_binds);
      }
      if (m.dev == vol2_mnt.dev() || decoy) {
        EXPECT_FALSE(is_ro(m)) << "writable mount became read-only at " << m.mountpoint;
        ++(decoy ? rw_tmpfs : rw_binds);
      }
    }
    EXPECT_EQ(ro_binds, kPerDir) << text;
    EXPECT_EQ(rw_binds, kPerDir) << text;
    EXPECT_EQ(ro_tmpfs, kPerDir) << text;
    EXPECT_EQ(rw_tmpfs, kPerDir) << text;
    if (through) ++st->through_link;
  };
  race(sb, "mount flags", rootfs, {{"srace", "srace-swap"}}, bundle, check,
       [] { return std::string(); });
  EXPECT_EQ(sb.leftovers(), "");
}

// readonlyPaths and maskedPaths below directories swapped with a symlink to
// the host directory (holding files of the same names) and with a symlink to
// a rootfs directory whose entries are read-only mounts already. Every bind
// of a rootfs directory nsbox makes (the readonlyPaths ones) must be
// read-only, every masked directory an empty read-only tmpfs, every masked
// file the container's /dev/null, and the host untouched.
TEST(MountRace, ReadonlyAndMaskedPathsUnderASwappedDirectory) {
  Sandbox sb;
  std::string rootfs = copy_rootfs(sb);
  std::string host = sb.dir() + "/host";
  HostTmpfs host_mnt(host, true);
  ASSERT_TRUE(host_mnt.ok()) << strerror(errno);
  std::map<std::string, std::string> host_content = {{"marker", "marker\n"}};
  for (int i = 0; i < kPerDir; ++i) {
    std::string n = std::to_string(i);
    fs::create_directories(host + "/p" + n);
    fs::create_directories(host + "/m" + n);
    host_content["mf" + n] = "host file\n";
  }
  for (const auto& [name, text] : host_content) write(host + "/" + name, text);
  const std::set<std::string> host_listing = listing(host);

  // The same names in the real directories, the decoys and the in-root
  // place the host symlink resolves to.
  for (const std::string& d : std::vector<std::string>{"race", "srace", "decoy", host.substr(1)}) {
    for (int i = 0; i < kPerDir; ++i) {
      std::string n = std::to_string(i);
      fs::create_directories(rootfs + "/" + d + "/p" + n);
      fs::create_directories(rootfs + "/" + d + "/m" + n);
      write(rootfs + "/" + d + "/m" + n + "/secret", "secret\n");
      write(rootfs + "/" + d + "/mf" + n, "secret\n");
    }
  }
  fs::create_symlink(host, rootfs + "/race-swap");
  fs::create_symlink("/decoy", rootfs + "/srace-swap");

  auto cfg = base_config(rootfs);
  json ro = json::array(), masked = json::array();
  for (int i = 0; i < kPerDir; ++i) ro.push_back("/decoy/p" + std::to_string(i));
  for (const char* d : {"/srace", "/race"}) {
    for (int i = 0; i < kPerDir; ++i) {
      std::string n = std::to_string(i);
      ro.push_back(std::string(d) + "/p" + n);
      masked.push_back(std::string(d) + "/m" + n);
      masked.push_back(std::string(d) + "/mf" + n);
    }
  }
  cfg["linux"]["readonlyPaths"] = ro;
  cfg["linux"]["maskedPaths"] = masked;
  std::string bundle = sb.bundle(cfg);

  auto check_container = [&](int pid, CreateStats* st) {
    std::string text = slurp("/proc/" + std::to_string(pid) + "/mountinfo");
    auto lines = parse_mountinfo(text);
    std::string root_dev, dev_dev;
    for (const auto& m : lines) {
      if (m.mountpoint == "/") root_dev = m.dev;
      if (m.mountpoint == "/dev") dev_dev = m.dev;
    }
    bool through = false;
    int ro_binds = 0;
    for (const auto& m : lines) {
      if (m.mountpoint.rfind(host, 0) == 0) through = true;
      std::string base = m.mountpoint.substr(m.mountpoint.rfind('/') + 1);
      if (m.dev == root_dev && m.mountpoint != "/") {
        EXPECT_TRUE(is_ro(m)) << "readonlyPaths bind is writable at " << m.mountpoint;
        ++ro_binds;
      }
      if (base.size() == 2 && base[0] == 'm') {
        EXPECT_TRUE(m.fstype == "tmpfs" && is_ro(m)) << "mask of " << m.mountpoint;
      }
      if (base.size() == 3 && base.rfind("mf", 0) == 0) {
        EXPECT_TRUE(m.dev == dev_dev && m.root == "/null") << "mask of " << m.mountpoint;
      }
    }
    EXPECT_GE(ro_binds, 3 * kPerDir) << text;
    if (through) ++st->through_link;
  };

  race(sb, "readonlyPaths/maskedPaths", rootfs, {{"race", "race-swap"}, {"srace", "srace-swap"}},
       bundle, check_container, [&] { return host_damage(host, host_listing, host_content); });
  EXPECT_EQ(host_damage(host, host_listing, host_content), "");
  EXPECT_EQ(sb.leftovers(), "");
}

// Masked and read-only paths that are symlinks to a host file or directory
// (absolute and climbing with ".."): resolved in the rootfs, where a decoy
// of the same path gets masked; the host file keeps its content and stays
// writable, nothing is mounted on the host.
TEST(MountRace, MaskedAndReadonlySymlinksResolveInTheRootfs) {
  Sandbox sb;
  std::string rootfs = copy_rootfs(sb);
  std::string host = sb.dir() + "/host";
  HostTmpfs host_mnt(host, true);
  ASSERT_TRUE(host_mnt.ok()) << strerror(errno);
  write(host + "/marker", "marker\n");
  fs::create_directories(host + "/dir");
  const std::set<std::string> host_listing = listing(host);
  const std::map<std::string, std::string> host_content = {{"marker", "marker\n"}};
  std::string decoy = rootfs + host;
  fs::create_directories(decoy + "/dir");
  write(decoy + "/marker", "decoy\n");
  fs::create_symlink(host + "/marker", rootfs + "/etc/evil-mask");
  fs::create_symlink(relative_link_to(host + "/marker"), rootfs + "/etc/evil-mask-rel");
  fs::create_symlink(host + "/dir", rootfs + "/etc/evil-ro");

  auto cfg = base_config(rootfs);
  cfg["linux"]["maskedPaths"] = {"/etc/evil-mask", "/etc/evil-mask-rel"};
  cfg["linux"]["readonlyPaths"] = {"/etc/evil-ro"};
  std::string id = sb.new_id("msym");
  auto o = sb.nsbox({"create", "-b", sb.bundle(cfg), id});
  ASSERT_EQ(o.status, 0) << o.err;
  int pid = sb.pid_of(id);
  ASSERT_GT(pid, 0);
  std::string text = slurp("/proc/" + std::to_string(pid) + "/mountinfo");
  std::string croot = "/proc/" + std::to_string(pid) + "/root";
  // The in-root decoy is masked (reads empty); the host file is not.
  EXPECT_EQ(slurp(croot + host + "/marker"), "") << text;
  bool ro_dir = false;
  for (const auto& m : parse_mountinfo(text)) {
    if (m.mountpoint == host + "/dir") ro_dir = is_ro(m);
  }
  EXPECT_TRUE(ro_dir) << text;
  EXPECT_EQ(host_damage(host, host_listing, host_content), "");
  EXPECT_EQ(::access((host + "/marker").c_str(), W_OK), 0) << strerror(errno);
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_EQ(slurp(decoy + "/marker"), "decoy\n");
  EXPECT_EQ(host_damage(host, host_listing, host_content), "");
  EXPECT_EQ(sb.leftovers(), "");
}

// /dev/null as a symlink to a host file (CVE-2025-31133: a runtime that
// binds whatever /dev/null resolves to over the masked paths hands the
// container that file). (1) In the rootfs, with no /dev mount: the device
// setup refuses it. (2) /dev bound from a host directory whose "null" links
// to a file of a host volume the container sees: masking refuses it.
TEST(MountRace, DevNullSymlinkIsNeverUsedForMasking) {
  Sandbox sb;
  std::string host = sb.dir() + "/host";
  HostTmpfs host_mnt(host, true);
  ASSERT_TRUE(host_mnt.ok()) << strerror(errno);
  write(host + "/hostfile", "host file\n");
  const std::set<std::string> host_listing = listing(host);
  const std::map<std::string, std::string> host_content = {{"hostfile", "host file\n"}};

  auto without_dev_mounts = [](json cfg) {
    json kept = json::array();
    for (const auto& m : cfg["mounts"]) {
      std::string d = m["destination"];
      if (d != "/dev" && d.rfind("/dev/", 0) != 0) kept.push_back(m);
    }
    cfg["mounts"] = kept;
    return cfg;
  };

  // (1)
  std::string rootfs = copy_rootfs(sb);
  fs::create_symlink(host + "/hostfile", rootfs + "/dev/null");
  auto cfg = without_dev_mounts(base_config(rootfs));
  std::string id = sb.new_id("null");
  auto o = sb.nsbox({"create", "-b", sb.bundle(cfg, "bundle1"), id});
  EXPECT_NE(o.status, 0) << "created with /dev/null -> " << host << "/hostfile";
  EXPECT_TRUE(contains(o.err, "/dev/null")) << o.err;
  EXPECT_EQ(host_damage(host, host_listing, host_content), "");

  // (2)
  std::string devdir = sb.dir() + "/devdir";
  fs::create_directories(devdir);
  fs::create_symlink("/vol/hostfile", devdir + "/null");
  cfg = without_dev_mounts(base_config(rootfs));
  fs::remove(rootfs + "/dev/null");
  cfg["mounts"].push_back(mount_entry("/dev", "bind", devdir, {"rbind"}));
  cfg["mounts"].push_back(mount_entry("/vol", "bind", host, {"rbind"}));
  cfg["linux"]["maskedPaths"] = {"/proc/timer_list", "/proc/keys"};
  id = sb.new_id("null");
  o = sb.nsbox({"create", "-b", sb.bundle(cfg, "bundle2"), id});
  EXPECT_NE(o.status, 0) << "masked with /dev/null -> /vol/hostfile";
  EXPECT_TRUE(contains(o.err, "/dev/null")) << o.err;
  EXPECT_EQ(host_damage(host, host_listing, host_content), "");
  EXPECT_EQ(sb.leftovers(), "");
}
