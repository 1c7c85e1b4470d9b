#include "svr/io/strict_json.hpp"

#include <set>
#include <vector>

#include "svr/core/error.hpp"

namespace svr::io {
namespace {

constexpr std::size_t kMaxDepth = 64;
// More keys than any real file has in one object (a model header names its tensors: thousands,
// a mixture of experts some 100,000): refused before the DOM is built.
constexpr std::size_t kMaxKeys = 1'000'000;

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
    if (keys_.back().size() >= kMaxKeys) {
      problem = "an object with more than " + std::to_string(kMaxKeys) +
                " keys (refused: no model has that many tensors)";
      return false;
    }
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

// Builds the ordered DOM in one pass. nlohmann's own DOM parser inserts each key through
// ordered_map::operator[], a linear search: quadratic in the keys of an object, minutes for a
// header that declares a million tensors. Keys are known to be unique here (DuplicateKeyCheck
// ran first), so each is appended. Only the innermost open container ever grows, so pointers to
// the enclosing ones stay valid.
class OrderedDomBuilder : public nlohmann::ordered_json::json_sax_t {
 public:
  using json = nlohmann::ordered_json;
  json root;

  bool null() override { return add(nullptr); }
  bool boolean(bool v) override { return add(v); }
  bool number_integer(number_integer_t v) override { return add(v); }
  bool number_unsigned(number_unsigned_t v) override { return add(v); }
  bool number_float(number_float_t v, const string_t&) override { return add(v); }
  bool string(string_t& v) override { return add(std::move(v)); }
  bool binary(binary_t& v) override { return add(json::binary(std::move(v))); }
  bool start_object(std::size_t) override {
    open_.push_back(add_slot(json::object()));
    return true;
  }
  bool start_array(std::size_t) override {
    open_.push_back(add_slot(json::array()));
    return true;
  }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    auto& object = open_.back()->get_ref<json::object_t&>();
    object.json::object_t::Container::emplace_back(std::move(k), nullptr);
    slot_ = &object.back().second;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  template <typename Value>
  bool add(Value&& value) {
    add_slot(json(std::forward<Value>(value)));
    return true;
  }
  json* add_slot(json value) {
    if (open_.empty()) {
      root = std::move(value);
      return &root;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      auto& array = parent.get_ref<json::array_t&>();
      array.push_back(std::move(value));
      return &array.back();
    }
    *slot_ = std::move(value);
    return slot_;
  }
  bool close() {
    open_.pop_back();
    return true;
  }
  std::vector<json*> open_;
  json* slot_ = nullptr;
};

}  // namespace

nlohmann::ordered_json parse_strict_json(const std::string& text, const std::string& file,
                                         const std::string& what) {
  DuplicateKeyCheck check;
  const bool ok = nlohmann::json::sax_parse(text, &check, nlohmann::json::input_format_t::json,
                                            /*strict=*/true, /*ignore_comments=*/false);
  if (!ok)
    throw_input(file, "", what + ": " + (check.problem.empty() ? "invalid JSON" : check.problem));
  OrderedDomBuilder dom;
  if (!nlohmann::ordered_json::sax_parse(text, &dom, nlohmann::json::input_format_t::json,
                                         /*strict=*/true, /*ignore_comments=*/false))
    throw_input(file, "", what + ": invalid JSON");  // cannot happen after the first pass
  return std::move(dom.root);
}

}  // namespace svr::io
