// A pre-flight check for YAML from outside (rules, content files, uploads) before it reaches
// yaml-cpp's Node API. yaml-cpp 0.7 trusts its input: a 114-byte document can make its loader emit
// empty documents forever, and aliases let a few hundred bytes stand for millions of nodes that a
// tree walk then visits. CheckYamlBounds runs yaml-cpp's event parser once and stops at the first
// bound crossed, so a hostile file costs time and memory in proportion to its size.
//
// Thread-safety: stateless.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace medsoc::core {

struct YamlBounds {
  // Documents in one stream. 0 means "derived from the size": a real document takes bytes.
  std::size_t max_documents = 0;
  // Nesting depth of sequences and maps.
  std::size_t max_depth = 128;
  // Nodes after alias expansion, as a walk of the loaded tree would visit them:
  // `max_nodes_base + max_nodes_per_byte * size`.
  std::size_t max_nodes_base = 100'000;
  std::size_t max_nodes_per_byte = 16;
};

// nullopt when `yaml` stays within `bounds`; else a kParse (syntax) or kResourceExhausted (a bound)
// error at file:line:column.
std::optional<Error> CheckYamlBounds(std::string_view yaml, const std::string& file, const YamlBounds& bounds = {});

}  // namespace medsoc::core
