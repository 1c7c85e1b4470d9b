#include "svr/io/strict_json.hpp"

#include <set>
#include <vector>

#include "svr/core/error.hpp"

namespace svr::io {
namespace {

constexpr std::size_t kMaxDepth = 64;

// SAX pass that only watches structure: nlohmann's DOM parser keeps one of two duplicate keys
// without telling, and a header whose meaning depends on which one wins must be refused.
class DuplicateKeyCheck : public nlohmann::json::json_sax_t {
 public:
  std::string problem;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return push(); }
  bool end_object() override { return pop(); }
  bool start_array(std::size_t) override { return push(); }
  bool end_array() override { return pop(); }
  bool key(string_t& k) override {
    if (!keys_.back().insert(k).second) {
      problem = "duplicate key \"" + k + "\" in the JSON";
      return false;
    }
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    std::string what = ex.what();
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    const auto colon = what.find("] ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    problem = "invalid JSON at byte " + std::to_string(position) + " (" + what + ")";
    return false;
  }

 private:
  bool push() {  // arrays get an unused set so that pop() stays uniform
    if (keys_.size() >= kMaxDepth) {
      problem = "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    keys_.emplace_back();
    return true;
  }
  bool pop() {
    keys_.pop_back();
    return true;
  }
  std::vector<std::set<std::string>> keys_;
};

}  // namespace

nlohmann::ordered_json parse_strict_json(const std::string& text, const std::string& file,
                                         const std::string& what) {
  DuplicateKeyCheck check;
  const bool ok = nlohmann::json::sax_parse(text, &check, nlohmann::json::input_format_t::json,
                                            /*strict=*/true, /*ignore_comments=*/false);
  if (!ok)
    throw_input(file, "", what + ": " + (check.problem.empty() ? "invalid JSON" : check.problem));
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // cannot happen after the SAX pass; be safe
    throw_input(file, "", what + ": invalid JSON (" + std::string(e.what()) + ")");
  }
}

}  // namespace svr::io
