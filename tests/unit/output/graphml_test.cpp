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

// A graph: a recognised family, a grouped first layer, and pair 0 read through a residual add
// from layer 0 to layer 1 (as a skip would be); the layer and pair attributes that Gephi and
// networkx group by are on every node and edge.
SvrResult graph_result() {
  SvrResult r = test::sample_result();
  r.network.source = "family";
  r.network.family = "torchvision <ResNet>";
  r.network.graph = true;
  r.layers[0].groups = 3;
  r.layers[0].group = {2, 0, 1};
  r.pairs[0].map = "add";
  return r;
}

TEST(Graphml, LayerAndPairAttributes) {
  test::TempDir dir;
  write_graphml(dir / "graph.graphml", graph_result());
  const std::string text = test::read_file(dir / "graph.graphml");
  EXPECT_NE(text.find("<data key=\"g_network\">graph</data>"
                      "<data key=\"g_network_source\">family</data>"
                      "<data key=\"g_family\">torchvision &lt;ResNet&gt;</data>"),
            std::string::npos);
  EXPECT_NE(text.find("<node id=\"l0n0\"><data key=\"n_layer\">0</data>"
                      "<data key=\"n_layer_name\">features.0,weight</data>"
                      "<data key=\"n_layer_kind\">conv2d</data>"
                      "<data key=\"n_layer_groups\">3</data>"),
            std::string::npos);
  EXPECT_NE(text.find("<data key=\"n_group\">2</data></node>"), std::string::npos);
  EXPECT_NE(text.find("<node id=\"l1n0\"><data key=\"n_layer\">1</data>"
                      "<data key=\"n_layer_name\">classifier.&quot;1&quot;.weight</data>"
                      "<data key=\"n_layer_kind\">linear</data>"
                      "<data key=\"n_layer_groups\">1</data>"),
            std::string::npos);
  EXPECT_EQ(count(text, "<data key=\"n_group\">"), 8u);
  EXPECT_NE(text.find("<edge source=\"l0n0\" target=\"l1n0\"><data key=\"e_pair\">0</data>"
                      "<data key=\"e_from_layer\">0</data><data key=\"e_to_layer\">1</data>"
                      "<data key=\"e_map\">add</data>"),
            std::string::npos);
  EXPECT_EQ(count(text, "<data key=\"e_map\">add</data>"), 2u);
  EXPECT_NE(text.find("<key id=\"e_map\" for=\"edge\" attr.name=\"map\" attr.type=\"string\"/>"),
            std::string::npos);
}

TEST(Graphml, ChainWithoutFamily) {
  test::TempDir dir;
  write_graphml(dir / "graph.graphml", test::sample_result());
  const std::string text = test::read_file(dir / "graph.graphml");
  EXPECT_NE(text.find("<data key=\"g_network\">chain</data>\n"), std::string::npos);
  EXPECT_EQ(text.find("<data key=\"g_family\">"), std::string::npos);
  EXPECT_EQ(count(text, "<data key=\"n_group\">0</data>"), 8u);
  EXPECT_EQ(count(text, "<data key=\"e_map\">direct</data>"), 2u);
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

TEST(Graphml, NetworkxGroupsByLayerAttributes) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  test::TempDir dir;
  write_graphml(dir / "graph.graphml", graph_result());
  test::write_file(dir / "check.py", R"(import sys
try:
    import networkx as nx
except ImportError:
    sys.exit(77)
g = nx.read_graphml(sys.argv[1])
assert g.graph["network"] == "graph" and g.graph["family"] == "torchvision <ResNet>", g.graph
by_kind = {}
for node, data in g.nodes(data=True):
    by_kind.setdefault(data["layer_kind"], []).append(node)
assert sorted(by_kind) == ["conv2d", "linear"], by_kind
assert sorted(by_kind["conv2d"]) == ["l0n0", "l0n1", "l0n2"], by_kind
assert [g.nodes["l0n%d" % i]["group"] for i in range(3)] == [2, 0, 1]
assert g.nodes["l0n0"]["layer_groups"] == 3 and g.nodes["l2n1"]["layer_groups"] == 1
e = g.edges["l0n1", "l1n2"]
assert e["map"] == "add" and e["from_layer"] == 0 and e["to_layer"] == 1, e
)");
  const int status = run_python(dir / "check.py", dir / "graph.graphml");
  if (status == 77) GTEST_SKIP() << "python3 has no networkx";
  EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace svr
