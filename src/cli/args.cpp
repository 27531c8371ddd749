#include "cli/args.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/log.h"
#include "common/util.h"

namespace nsbox::cli {

namespace {

const Flag* find_flag(const std::vector<Flag>& flags, const std::string& name, bool is_short) {
  for (const auto& f : flags) {
    if ((is_short ? f.short_name : f.name) == name) return &f;
  }
  return nullptr;
}

}  // namespace

Result<Parsed> parse_flags(const std::vector<std::string>& args, const std::vector<Flag>& flags,
                           size_t flags_until) {
  Parsed p;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--" || p.positionals.size() >= flags_until) {
      size_t from = a == "--" ? i + 1 : i;
      p.positionals.insert(p.positionals.end(), args.begin() + static_cast<long>(from), args.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      p.positionals.push_back(a);
      continue;
    }
    bool is_short = a[1] != '-';
    std::string body = a.substr(is_short ? 1 : 2);
    std::optional<std::string> inline_value;
    if (auto eq = body.find('='); eq != std::string::npos) {
      inline_value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    const Flag* f = find_flag(flags, body, is_short);
    if (f == nullptr) return make_error("unknown flag: " + a);
    if (!f->takes_value) {
      p.values[f->name] = inline_value.value_or("true");
      continue;
    }
    if (inline_value) {
      p.values[f->name] = *inline_value;
    } else if (i + 1 < args.size()) {
      p.values[f->name] = args[++i];
    } else {
      return make_error("flag needs an argument: " + a);
    }
    p.lists[f->name].push_back(p.values[f->name]);
  }
  return p;
}

Result<bool> flag_bool(const Parsed& p, const std::string& name) {
  std::string v = p.get(name, "false");
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return make_error("--" + name + ": expected true or false, got \"" + v + "\"");
}

Result<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  static const std::pair<const char*, long double> kUnits[] = {
      {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  auto bad =
      make_error("--interval: expected a duration such as 5s or 500ms, got " + nsbox::quoted(text));
  long double total = 0;
  size_t i = 0;
  if (text.empty()) return bad;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == start) return bad;
    long double value = std::strtold(text.substr(start, i - start).c_str(), nullptr);
    size_t best = 0;
    long double scale = 0;
    for (const auto& [unit, s] : kUnits) {
      std::string_view u(unit);
      if (text.compare(i, u.size(), u) == 0 && u.size() > best) {
        best = u.size();
        scale = s;
      }
    }
    if (best == 0) return bad;
    i += best;
    total += value * scale;
  }
  if (total <= 0) return make_error("--interval: must be positive, got " + nsbox::quoted(text));
  return std::chrono::nanoseconds(static_cast<long long>(total));
}

void print_help(const Command& c) {
  std::printf("Usage: nsbox %s\n\n%s\n", c.usage, c.summary);
  if (c.flags.empty()) return;
  std::printf("\nOptions:\n");
  for (const auto& f : c.flags) {
    std::string names = (f.short_name.empty() ? "    " : "-" + f.short_name + ", ") + "--" + f.name;
    if (f.takes_value) names += " VALUE";
    std::printf("  %-28s %s\n", names.c_str(), f.help.c_str());
  }
}

int fail(const Error& e) {
  log::error(e.msg);
  return 1;
}

std::optional<spec::NsType> parse_ns_name(const std::string& name) {
  if (name == "mnt") return spec::NsType::kMount;
  if (name == "net") return spec::NsType::kNet;
  return spec::ns_type_from_name(name);
}

Result<std::vector<spec::NsType>> parse_ns_list(const std::string& flag, const std::string& text) {
  std::vector<spec::NsType> out;
  if (text.empty()) return make_error(flag + ": expected a comma-separated list of namespaces");
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? comma : comma - start);
    auto t = parse_ns_name(name);
    if (!t) {
      return make_error(flag + ": unknown namespace " + nsbox::quoted(name) +
                        " (expected mount, uts, ipc, pid, network, user, cgroup or time)");
    }
    if (std::find(out.begin(), out.end(), *t) == out.end()) out.push_back(*t);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace nsbox::cli
