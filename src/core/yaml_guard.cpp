#include "core/yaml_guard.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <sstream>
#include <unordered_map>
#include <vector>

namespace medsoc::core {
namespace {

struct Exceeded {
  YAML::Mark mark;
  std::string message;
};

// Counts nodes as a tree walk would see them: an alias counts as the whole subtree it names.
class Counter final : public YAML::EventHandler {
 public:
  Counter(std::size_t max_documents, std::size_t max_depth, std::size_t max_nodes)
      : max_documents_(max_documents), max_depth_(max_depth), max_nodes_(max_nodes) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > max_documents_)
      throw Exceeded{mark, "more than " + std::to_string(max_documents_) + " YAML documents for the input size"};
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { Leaf(mark, anchor); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string&) override {
    Leaf(mark, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = sizes_.find(anchor);
    Add(mark, it == sizes_.end() ? 1 : it->second);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YAML::anchor_t anchor;
    std::size_t start;
  };

  void Add(const YAML::Mark& mark, std::size_t n) {
    nodes_ += n;
    if (nodes_ > max_nodes_)
      throw Exceeded{mark, "YAML expands to more than " + std::to_string(max_nodes_) +
                               " nodes (aliases or size); refusing to load it"};
  }
  void Leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    Add(mark, 1);
    if (anchor != 0) sizes_[anchor] = 1;
  }
  void Open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    Add(mark, 1);
    if (stack_.size() >= max_depth_)
      throw Exceeded{mark, "YAML nested deeper than " + std::to_string(max_depth_) + " levels"};
    stack_.push_back({anchor, nodes_ - 1});
  }
  void Close() {
    if (stack_.empty()) return;
    const Frame f = stack_.back();
    stack_.pop_back();
    if (f.anchor != 0) sizes_[f.anchor] = nodes_ - f.start;
  }

  std::size_t max_documents_, max_depth_, max_nodes_;
  std::size_t documents_ = 0;
  std::size_t nodes_ = 0;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, std::size_t> sizes_;
};

}  // namespace

std::optional<Error> CheckYamlBounds(std::string_view yaml, const std::string& file, const YamlBounds& bounds) {
  auto at = [&](ErrorCode code, const YAML::Mark& m, std::string message) {
    return Error(code, std::move(message),
                 SourcePos{file, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0});
  };
  const std::size_t max_documents = bounds.max_documents != 0 ? bounds.max_documents : 2 + yaml.size() / 3;
  Counter counter(max_documents, bounds.max_depth, bounds.max_nodes_base + bounds.max_nodes_per_byte * yaml.size());
  try {
    std::istringstream in{std::string(yaml)};
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(counter)) {
    }
  } catch (const Exceeded& e) {
    return at(ErrorCode::kResourceExhausted, e.mark, e.message);
  } catch (const YAML::Exception& e) {
    return at(ErrorCode::kParse, e.mark, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kParse, std::string("YAML parser failed: ") + e.what(), SourcePos{file, 0, 0});
  }
  return std::nullopt;
}

}  // namespace medsoc::core
