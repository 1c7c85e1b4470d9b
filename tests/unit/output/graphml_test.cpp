// graph.graphml: well-formed, every node, only significant edges, typed attributes; checked with
// a small scan here and, when /usr/bin/python3 is present, with xml.etree and networkx.
#include <sys/wait.h>

#include <regex>

#include "svr/output/graphml.hpp"
#include "test_support.hpp"

namespace svr {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Graphml, AllNodesAndOnlySignificantEdges) {
  const SvrResult r = test::sample_result();
  test::TempDir dir;
  write_graphml(dir / "graph.graphml", r);
  const std::string text = test::read_file(dir / "graph.graphml");
  EXPECT_FALSE(test::contains_nan(text));
  EXPECT_EQ(text.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml ", 0), 0u);
  EXPECT_EQ(count(text, "<node "), 8u);
  EXPECT_EQ(count(text, "<edge "), 2u);  // of 4 reported edges, 2 are significant
  EXPECT_NE(text.find("<edge source=\"l0n0\" target=\"l1n0\">"), std::string::npos);
  EXPECT_NE(text.find("<edge source=\"l0n1\" target=\"l1n2\">"), std::string::npos);
  EXPECT_NE(text.find("features.0,weight"), std::string::npos);
  EXPECT_NE(text.find("classifier.&quot;1&quot;.weight"), std::string::npos);
  EXPECT_NE(text.find("<data key=\"e_log10_p\">-700</data>"), std::string::npos);
  EXPECT_NE(text.find("<data key=\"e_p\">0</data>"), std::string::npos);
  EXPECT_NE(text.find("<key id=\"n_near_kernel\" for=\"node\" attr.name=\"near_kernel\" "
                      "attr.type=\"boolean\"/>"),
            std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 22), "  </graph>\n</graphml>\n");
}

// Runs python3 on a script; returns its exit status (77 = module missing: skip).
int run_python(const std::string& script_path, const std::string& graph_path) {
  const std::string command = "/usr/bin/python3 '" + script_path + "' '" + graph_path + "'";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Graphml, ParsesWithPythonXmlEtree) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  test::TempDir dir;
  write_graphml(dir / "graph.graphml", test::sample_result());
  test::write_file(dir / "check.py", R"(import sys
import xml.etree.ElementTree as ET
ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
root = ET.parse(sys.argv[1]).getroot()
graph = root.find("g:graph", ns)
nodes = graph.findall("g:node", ns)
edges = graph.findall("g:edge", ns)
keys = {k.get("id"): k for k in root.findall("g:key", ns)}
assert len(nodes) == 8, len(nodes)
assert len(edges) == 2, len(edges)
ids = {n.get("id") for n in nodes}
assert all(e.get("source") in ids and e.get("target") in ids for e in edges)
for element in nodes + edges:
    for data in element.findall("g:data", ns):
        assert data.get("key") in keys, data.get("key")
names = [d.text for d in nodes[0].findall("g:data", ns) if d.get("key") == "n_layer_name"]
assert names == ["features.0,weight"], names
names = [d.text for d in nodes[3].findall("g:data", ns) if d.get("key") == "n_layer_name"]
assert names == ['classifier."1".weight'], names
)");
  EXPECT_EQ(run_python(dir / "check.py", dir / "graph.graphml"), 0);
}

TEST(Graphml, ReadsWithNetworkx) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  test::TempDir dir;
  write_graphml(dir / "graph.graphml", test::sample_result());
  test::write_file(dir / "check.py", R"(import sys
try:
    import networkx as nx
except ImportError:
    sys.exit(77)
g = nx.read_graphml(sys.argv[1])
assert g.is_directed()
assert g.number_of_nodes() == 8 and g.number_of_edges() == 2
assert g.graph["model"] == "tiny_cnn.safetensors"
n = g.nodes["l0n1"]
assert n["layer"] == 0 and n["neuron"] == 1 and isinstance(n["layer"], int)
assert n["layer_name"] == "features.0,weight"
assert n["sigma"] == 0.1 + 0.2 and n["sigma_rel"] == (0.1 + 0.2) / 3.0
assert n["near_kernel"] is False and g.nodes["l0n2"]["near_kernel"] is True
assert g.nodes["l1n0"]["layer_name"] == 'classifier."1".weight'
assert g.nodes["l2n1"]["sigma_rel"] == 0.0 and g.nodes["l2n1"]["intensity"] == 1.0
e = g.edges["l0n0", "l1n0"]
assert e["pair"] == 0 and e["e"] == 0.9 and e["log10_p"] == -700.0 and e["p"] == 0.0
assert e["significant"] is True
e = g.edges["l0n1", "l1n2"]
assert e["log10_p"] == -310.0 and e["p"] == 10.0 ** -310 and e["ce"] == 3 * 0.1
)");
  const int status = run_python(dir / "check.py", dir / "graph.graphml");
  if (status == 77) GTEST_SKIP() << "python3 has no networkx";
  EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace svr
