// Scenario loading: YAML through yaml-cpp, then strict validation. Every error
// names file:line:column, says what is wrong and what was expected; unknown
// keys get a "did you mean". Nothing here crashes on hostile input (fuzzed).
#include "scenario.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace gantry::harness {

std::string SourceMark::text() const
{
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ScenarioError::ScenarioError(const SourceMark& mark, const std::string& message)
    : std::runtime_error(mark.text() + ": " + message)
{
}

const NodeSpec* Scenario::find_node(std::string_view name) const
{
    for (const NodeSpec& node : nodes)
        if (node.name == name)
            return &node;
    return nullptr;
}

namespace {

usize edit_distance(std::string_view a, std::string_view b)
{
    std::vector<usize> row(b.size() + 1);
    for (usize j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (usize i = 1; i <= a.size(); ++i) {
        usize diagonal = row[0];
        row[0] = i;
        for (usize j = 1; j <= b.size(); ++j) {
            usize above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates)
{
    std::string best;
    usize best_distance = std::max<usize>(3, word.size() / 3) + 1;
    for (const auto& candidate : candidates) {
        usize distance = edit_distance(word, candidate);
        if (distance < best_distance)
            best = candidate, best_distance = distance;
    }
    return best;
}

std::string join(const std::vector<std::string>& words)
{
    std::string out;
    for (const auto& word : words)
        out += (out.empty() ? "" : ", ") + word;
    return out;
}

// Reads one YAML mapping, remembering which keys were used so that unknown
// keys are reported (with a suggestion) instead of silently ignored.
class MapReader {
public:
    MapReader(const YAML::Node& node, std::string file, std::string what)
        : m_node(node), m_file(std::move(file)), m_what(std::move(what))
    {
        if (!node.IsMap())
            throw ScenarioError(mark(node), m_what + " must be a mapping of key: value");
    }

    SourceMark mark(const YAML::Node& node) const
    {
        YAML::Mark m = node.Mark();
        return SourceMark{m_file, m.line + 1, m.column + 1};
    }
    SourceMark mark() const { return mark(m_node); }

    YAML::Node get(const std::string& key)
    {
        m_allowed.push_back(key);
        for (auto it = m_node.begin(); it != m_node.end(); ++it)
            if (it->first.IsScalar() && it->first.Scalar() == key)
                return it->second;
        return YAML::Node(YAML::NodeType::Undefined);
    }

    YAML::Node require(const std::string& key)
    {
        YAML::Node value = get(key);
        if (!value.IsDefined())
            throw ScenarioError(mark(), m_what + " needs '" + key + "'");
        return value;
    }

    std::string scalar(const YAML::Node& value, const std::string& key) const
    {
        if (!value.IsScalar())
            throw ScenarioError(mark(value), "'" + key + "' must be a single value");
        return value.Scalar();
    }

    std::string string(const std::string& key, const std::string& fallback = {})
    {
        YAML::Node value = get(key);
        return value.IsDefined() ? scalar(value, key) : fallback;
    }

    std::string required_string(const std::string& key)
    {
        return scalar(require(key), key);
    }

    TimeNs duration(const YAML::Node& value, const std::string& key) const
    {
        auto parsed = parse_duration(scalar(value, key));
        if (!parsed)
            throw ScenarioError(mark(value), "'" + key + "': '" + value.Scalar() +
                                                 "' is not a duration (examples: 10s, 250ms, 5us)");
        return *parsed;
    }

    // Reports the first key nobody asked for.
    void finish() const
    {
        for (auto it = m_node.begin(); it != m_node.end(); ++it) {
            std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
            if (std::find(m_allowed.begin(), m_allowed.end(), key) != m_allowed.end())
                continue;
            std::string hint = closest(key, m_allowed);
            throw ScenarioError(mark(it->first),
                                "unknown key '" + key + "' in " + m_what +
                                    (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                                    "; expected one of: " + join(m_allowed));
        }
    }

private:
    const YAML::Node& m_node;
    std::string m_file;
    std::string m_what;
    std::vector<std::string> m_allowed;
};

NodeSpec read_node(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a node");
    NodeSpec node;
    node.mark = map.mark();
    node.name = map.required_string("name");
    node.app = map.required_string("app");
    if (YAML::Node args = map.get("args"); args.IsDefined()) {
        if (!args.IsSequence())
            throw ScenarioError(map.mark(args), "'args' must be a list, e.g. [--port, \"80\"]");
        for (const auto& arg : args)
            node.args.push_back(map.scalar(arg, "args"));
    }
    if (YAML::Node memory = map.get("memory"); memory.IsDefined()) {
        auto bytes = parse_bytes(map.scalar(memory, "memory"));
        if (!bytes || *bytes < 256 * 1024)
            throw ScenarioError(map.mark(memory), "'memory': '" + memory.Scalar() +
                                                      "' is not a size of at least 256K "
                                                      "(examples: 4M, 16M)");
        node.memory_bytes = *bytes;
    }
    if (YAML::Node drift = map.get("clock_drift_ppm"); drift.IsDefined()) {
        std::string text = map.scalar(drift, "clock_drift_ppm");
        char* end = nullptr;
        node.clock_drift_ppm = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || std::fabs(node.clock_drift_ppm) > 1e5)
            throw ScenarioError(map.mark(drift),
                                "'clock_drift_ppm' must be a number between -100000 and 100000");
    }
    map.finish();
    return node;
}

FaultSpec read_fault(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a fault");
    FaultSpec fault;
    fault.mark = map.mark();
    fault.at_ns = map.duration(map.require("at"), "at");
    struct Action {
        const char* key;
        FaultKind kind;
    };
    constexpr Action actions[] = {{"crash", FaultKind::crash},
                                  {"restart", FaultKind::restart},
                                  {"pause", FaultKind::pause},
                                  {"resume", FaultKind::resume}};
    int found = 0;
    for (const Action& action : actions) {
        if (YAML::Node target = map.get(action.key); target.IsDefined()) {
            fault.kind = action.kind;
            fault.node = map.scalar(target, action.key);
            ++found;
        }
    }
    if (found != 1)
        throw ScenarioError(fault.mark, "a fault needs exactly one of crash, restart, pause, "
                                        "resume (naming a node), beside 'at'");
    map.finish();
    return fault;
}

CheckSpec read_check(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a check");
    CheckSpec check;
    check.mark = map.mark();
    check.node = map.string("node", "*");
    int found = 0;
    if (YAML::Node code = map.get("exit_code"); code.IsDefined()) {
        std::string text = map.scalar(code, "exit_code");
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(),
                                            check.exit_code);
        if (error != std::errc() || end != text.data() + text.size())
            throw ScenarioError(map.mark(code), "'exit_code' must be an integer");
        check.kind = CheckKind::exit_code;
        ++found;
    }
    if (YAML::Node text = map.get("log_contains"); text.IsDefined()) {
        check.kind = CheckKind::log_contains;
        check.text = map.scalar(text, "log_contains");
        ++found;
    }
    if (YAML::Node text = map.get("log_absent"); text.IsDefined()) {
        check.kind = CheckKind::log_absent;
        check.text = map.scalar(text, "log_absent");
        ++found;
    }
    if (YAML::Node none = map.get("no_node_failures"); none.IsDefined()) {
        check.kind = CheckKind::no_node_failures;
        ++found;
    }
    if (YAML::Node by = map.get("exited_by"); by.IsDefined()) {
        check.kind = CheckKind::exited_by;
        check.time_ns = map.duration(by, "exited_by");
        ++found;
    }
    if (found != 1)
        throw ScenarioError(check.mark, "a check needs exactly one of exit_code, log_contains, "
                                        "log_absent, no_node_failures, exited_by");
    map.finish();
    return check;
}

template<typename T, typename Read>
std::vector<T> read_list(MapReader& map, const std::string& key, const std::string& file,
                         Read read)
{
    std::vector<T> items;
    YAML::Node list = map.get(key);
    if (!list.IsDefined() || list.IsNull())
        return items;
    if (!list.IsSequence())
        throw ScenarioError(map.mark(list), "'" + key + "' must be a list (items start with '- ')");
    for (const auto& item : list)
        items.push_back(read(item, file));
    return items;
}

void check_references(const Scenario& scenario)
{
    std::set<std::string> names;
    for (const NodeSpec& node : scenario.nodes)
        if (!names.insert(node.name).second)
            throw ScenarioError(node.mark, "two nodes are named '" + node.name + "'");
    std::vector<std::string> known(names.begin(), names.end());
    auto require_node = [&](const std::string& name, const SourceMark& mark) {
        if (names.count(name))
            return;
        std::string hint = closest(name, known);
        throw ScenarioError(mark, "no node named '" + name + "'" +
                                      (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    };
    for (const FaultSpec& fault : scenario.faults) {
        require_node(fault.node, fault.mark);
        if (fault.at_ns > scenario.duration_ns)
            throw ScenarioError(fault.mark, "this fault happens after the run ends "
                                            "(raise 'duration' or move 'at')");
    }
    for (const CheckSpec& check : scenario.checks)
        if (check.node != "*")
            require_node(check.node, check.mark);
}

Scenario read_scenario(const YAML::Node& root, const std::string& file)
{
    if (!root.IsDefined() || root.IsNull())
        throw ScenarioError(SourceMark{file, 1, 1}, "the file is empty; a scenario needs at "
                                                    "least 'name' and 'nodes'");
    MapReader map(root, file, "the scenario");
    Scenario scenario;
    scenario.file = file;
    scenario.name = map.required_string("name");
    scenario.description = map.string("description");
    if (YAML::Node seed = map.get("seed"); seed.IsDefined()) {
        std::string text = map.scalar(seed, "seed");
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(),
                                            scenario.default_seed);
        if (error != std::errc() || end != text.data() + text.size())
            throw ScenarioError(map.mark(seed), "'seed' must be a non-negative integer");
    }
    if (YAML::Node duration = map.get("duration"); duration.IsDefined())
        scenario.duration_ns = map.duration(duration, "duration");
    scenario.nodes = read_list<NodeSpec>(map, "nodes", file, read_node);
    scenario.faults = read_list<FaultSpec>(map, "faults", file, read_fault);
    scenario.checks = read_list<CheckSpec>(map, "checks", file, read_check);
    map.finish();
    if (scenario.nodes.empty())
        throw ScenarioError(map.mark(), "a scenario needs at least one node under 'nodes'");
    check_references(scenario);
    return scenario;
}

} // namespace

std::optional<TimeNs> parse_duration(std::string_view text)
{
    struct Unit {
        const char* suffix;
        double scale;
    };
    // Longest suffixes first so "ms" is not read as "m" + "s".
    constexpr Unit units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9},
                              {"min", 60e9}, {"h", 3600e9}};
    for (const Unit& unit : units) {
        std::string_view suffix = unit.suffix;
        if (text.size() <= suffix.size() || !text.ends_with(suffix))
            continue;
        std::string number(text.substr(0, text.size() - suffix.size()));
        if (number.find_first_not_of("0123456789.") != std::string::npos)
            continue;
        char* end = nullptr;
        double value = std::strtod(number.c_str(), &end);
        if (end == number.c_str() || *end != '\0' || value < 0 || value * unit.scale > 1e18)
            return std::nullopt;
        return static_cast<TimeNs>(std::llround(value * unit.scale));
    }
    return std::nullopt;
}

std::optional<usize> parse_bytes(std::string_view text)
{
    usize value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end == text.data())
        return std::nullopt;
    std::string_view suffix(end, static_cast<usize>(text.data() + text.size() - end));
    usize scale = 1;
    if (suffix == "K")
        scale = usize{1} << 10;
    else if (suffix == "M")
        scale = usize{1} << 20;
    else if (suffix == "G")
        scale = usize{1} << 30;
    else if (!suffix.empty())
        return std::nullopt;
    if (value > (usize{1} << 40) / scale)
        return std::nullopt;
    return value * scale;
}

Scenario load_scenario_text(const std::string& text, const std::string& file_name)
{
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& error) {
        throw ScenarioError(SourceMark{file_name, error.mark.line + 1, error.mark.column + 1},
                            "not valid YAML: " + error.msg);
    }
    try {
        return read_scenario(root, file_name);
    } catch (const YAML::Exception& error) {
        throw ScenarioError(SourceMark{file_name, error.mark.line + 1, error.mark.column + 1},
                            error.msg);
    }
}

Scenario load_scenario_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ScenarioError(SourceMark{path, 0, 0}, "cannot read the file (does it exist?)");
    std::stringstream text;
    text << in.rdbuf();
    return load_scenario_text(text.str(), path);
}

} // namespace gantry::harness
