#pragma once
// The read phase: every rank opens the model's metadata (small; no weight is read here) and
// derives the same plans from it, so that no plan ever travels: the network (layers, pairs; the
// network module) and the execution (who factors which layer and how, who owns which pair; the
// parallel module). docs/architecture.md, "The life of one run".
#include <string>

#include "svr/app/options.hpp"
#include "svr/core/results.hpp"
#include "svr/io/model_file.hpp"
#include "svr/network/network_plan.hpp"
#include "svr/parallel/execution_plan.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

struct RunPlans {
  ModelFile model;
  NetworkPlan network;
  ExecutionPlan execution;
  double memory_budget = 0.0;  // bytes per rank the teams were sized with (0: none)
};

// Collective: the memory budget (given, or detected on every node), then one agreed step that
// opens the model and plans. Throws, on every rank alike, InputError for a model svr cannot
// read or a network it cannot analyse, and for a --memory-per-rank budget that no team layout
// meets; prints a detected budget's warning on rank 0.
RunPlans read_phase(const Options& options, const mpi::Communicator& comm);

// Local, the same on every rank: what the result knows from the plans alone. Every layer's
// name, kind, shapes and folded batch norm; every pair's geometry (its statistics are filled in
// later by the pair's owner); the run's input format, memory budget and placements.
void describe_plans(const RunPlans& plans, const Options& options, SvrResult& result);

// --plan: the network (where its topology comes from, its layers and pairs by channel map) and
// the execution plan as text (per layer, per team, per pair), for rank 0 to print.
std::string plan_text(const RunPlans& plans, const Options& options);

}  // namespace svr
