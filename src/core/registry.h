// The plugin registry: named factories for the pluggable parts of medsoc (parsers, normalizers,
// store backends, notification channels, scanners' probes, report builders). Modules export
// `Register...(Registry&)` functions that app/ calls explicitly at start-up: there are no
// self-registering static initialisers.
//
// Thread-safety: registration happens during start-up on one thread; after Freeze(), lookups are
// safe from any thread and registration is refused.
#pragma once

#include <any>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <typeindex>
#include <vector>

#include "core/result.h"

namespace medsoc::core {

class Registry {
 public:
  // Registers `factory` under (interface type I, name). Fails on a duplicate name or after Freeze().
  template <typename I>
  Status Add(const std::string& name, std::function<std::unique_ptr<I>()> factory) {
    if (frozen_) return Error(ErrorCode::kFailedPrecondition, "registry is frozen; cannot add '" + name + "'");
    auto& slot = entries_[std::type_index(typeid(I))];
    if (slot.count(name)) return Error(ErrorCode::kAlreadyExists, "plugin '" + name + "' is already registered");
    slot.emplace(name, std::any(std::move(factory)));
    return Ok();
  }

  // Creates a new instance of the plugin named `name` implementing I.
  template <typename I>
  Result<std::unique_ptr<I>> Create(const std::string& name) const {
    auto it = entries_.find(std::type_index(typeid(I)));
    if (it != entries_.end()) {
      auto f = it->second.find(name);
      if (f != it->second.end())
        return std::any_cast<const std::function<std::unique_ptr<I>()>&>(f->second)();
    }
    return Error(ErrorCode::kNotFound, "no plugin named '" + name + "'");
  }

  // Names registered for interface I, sorted.
  template <typename I>
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    auto it = entries_.find(std::type_index(typeid(I)));
    if (it != entries_.end())
      for (const auto& [name, _] : it->second) out.push_back(name);
    return out;
  }

  void Freeze() { frozen_ = true; }

 private:
  bool frozen_ = false;
  std::map<std::type_index, std::map<std::string, std::any>> entries_;
};

}  // namespace medsoc::core
