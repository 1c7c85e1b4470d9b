#include "svr/app/resume.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "svr/app/options.hpp"
#include "svr/io/model_file.hpp"
#include "svr/io/sha256.hpp"

namespace svr {

namespace {

// Options that name where a run reads and writes, or how it talks, but not what it computes.
constexpr const char* kIncidentalOptions[] = {"model_path", "outdir", "force", "quiet"};

nlohmann::json result_options(nlohmann::json options) {
  for (const char* key : kIncidentalOptions) options.erase(key);
  return options;
}

// The input SHA-256 recorded by a complete run in `outdir` with the same result-deciding
// options, or "" when there is none (no directory, no summary.json, one that cannot be read:
// a run that never finished, or a run with other options, which must be computed again).
std::string recorded_input_sha256(const std::string& outdir, const Options& options) {
  std::ifstream in(outdir + "/summary.json");
  if (!in) return "";
  const auto summary = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (summary.is_discarded() || !summary.is_object()) return "";
  const auto recorded_options = summary.find("options");
  if (recorded_options == summary.end() || !recorded_options->is_object() ||
      result_options(*recorded_options) !=
          result_options(nlohmann::json::parse(options_record(options).dump())))
    return "";
  const auto run = summary.find("run");
  if (run == summary.end() || !run->is_object()) return "";
  const auto sha = run->find("input_sha256");
  if (sha == run->end() || !sha->is_string()) return "";
  return sha->get<std::string>();
}

}  // namespace

bool outdir_is_complete(const Options& options, const mpi::Communicator& comm) {
  std::string verdict = "0";
  mpi::agreed(comm, [&] {
    if (!comm.is_root()) return;
    const std::string recorded = recorded_input_sha256(options.outdir, options);
    // Hash the model only when there is something to compare it with.
    if (!recorded.empty() && recorded == model_sha256(open_model(options.model_path)))
      verdict = "1";
  });
  comm.broadcast(verdict, 0);
  return verdict == "1";
}

}  // namespace svr
