#pragma once
// A network that is a directed acyclic graph of weight layers, read from a topology file
// (`--topology FILE`; docs/input-formats.md, docs/topology.schema.json; spec section 7).
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

}  // namespace svr
