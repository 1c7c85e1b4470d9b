#pragma once
// A network that is a directed acyclic graph of weight layers, read from a topology file
// (`--topology FILE`; docs/input-formats.md, docs/topology.schema.json; spec section 7).
#include <nlohmann/json.hpp>
#include <string>

#include "svr/io/model_file.hpp"
#include "svr/network/network_options.hpp"
#include "svr/network/network_plan.hpp"

namespace svr {

// The plan of the graph described by the topology file options.topology over the weights of
// `model`: its layers in the file's (topological) order, one pair per read with its channel map
// and geometry, the batch norms the file names (folded unless --batchnorm ignore). Metadata
// only. Throws InputError, one line naming the topology file, the layer and the problem, for a
// file that is not JSON or breaks the schema, a name that is not a weight of the model or comes
// twice, a kind that does not match the tensor, a read of a layer not listed before (a cycle or
// a wrong order), channel counts that do not match, reads that overlap or leave a channel
// uncovered, a slice or permutation outside the producer's channels, groups that do not divide,
// a flatten that does not divide, and what svr does not support yet (grouped convolutions,
// cosvr with a channel map other than direct or add).
NetworkPlan plan_from_topology(const ModelFile& model, const NetworkOptions& options);

// The topology file of `plan` (docs/topology.schema.json), which --topology reads back to the
// same plan: its layers in order with kind, groups, batch norm and flatten order, and each
// consumer's reads with their channel maps. `model` describes where it comes from.
nlohmann::ordered_json topology_json(const NetworkPlan& plan, const std::string& model);

}  // namespace svr
