#include <gantry/hosted/options.hpp>

#include <algorithm>
#include <charconv>

namespace gantry::hosted {

namespace {

struct OptionSpec {
    const char* name;
    bool takes_value;
};

constexpr OptionSpec option_specs[] = {
    {"--mem", true}, {"--trace", true}, {"--log-level", true},
    {"--help", false}, {"-h", false}, {"--version", false},
};

// Levenshtein distance, for "did you mean" on a mistyped option.
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

std::string suggestion(std::string_view unknown)
{
    const OptionSpec* best = nullptr;
    usize best_distance = 4;
    for (const auto& spec : option_specs) {
        usize distance = edit_distance(unknown, spec.name);
        if (distance < best_distance)
            best = &spec, best_distance = distance;
    }
    return best ? std::string(" (did you mean ") + best->name + "?)" : std::string();
}

std::string apply(Options& out, std::string_view name, std::string_view value)
{
    if (name == "--mem") {
        if (!parse_size(value, out.memory_bytes) || out.memory_bytes < 64 * 1024)
            return "--mem: '" + std::string(value) +
                   "' is not a size of at least 64K (examples: 16M, 256M, 1G)";
    } else if (name == "--trace") {
        out.trace_path = value;
    } else if (name == "--log-level") {
        if (value == "debug")
            out.log_level = LogLevel::debug;
        else if (value == "info")
            out.log_level = LogLevel::info;
        else if (value == "warn")
            out.log_level = LogLevel::warn;
        else if (value == "error")
            out.log_level = LogLevel::error;
        else
            return "--log-level: '" + std::string(value) + "' is not one of debug, info, warn, error";
    } else if (name == "--help" || name == "-h") {
        out.help = true;
    } else if (name == "--version") {
        out.version = true;
    }
    return {};
}

} // namespace

bool parse_size(std::string_view text, usize& out)
{
    usize value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end == text.data())
        return false;
    std::string_view suffix(end, static_cast<usize>(text.data() + text.size() - end));
    usize scale = 1;
    if (suffix == "K" || suffix == "k" || suffix == "KiB")
        scale = usize{1} << 10;
    else if (suffix == "M" || suffix == "m" || suffix == "MiB")
        scale = usize{1} << 20;
    else if (suffix == "G" || suffix == "g" || suffix == "GiB")
        scale = usize{1} << 30;
    else if (!suffix.empty())
        return false;
    if (value > (usize{1} << 40) / scale)
        return false;
    out = value * scale;
    return true;
}

std::string parse_options(int argc, char** argv, Options& out)
{
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") {
            for (++i; i < argc; ++i)
                out.app_args.emplace_back(argv[i]);
            break;
        }
        if (!arg.starts_with("-")) {
            out.app_args.emplace_back(arg);
            continue;
        }
        std::string_view name = arg;
        std::string_view value;
        bool has_inline_value = false;
        if (auto equals = arg.find('='); equals != std::string_view::npos) {
            name = arg.substr(0, equals);
            value = arg.substr(equals + 1);
            has_inline_value = true;
        }
        auto spec = std::find_if(std::begin(option_specs), std::end(option_specs),
                                 [&](const OptionSpec& s) { return name == s.name; });
        if (spec == std::end(option_specs))
            return "unknown option '" + std::string(name) + "'" + suggestion(name) +
                   "; app arguments go after '--'";
        if (spec->takes_value && !has_inline_value) {
            if (i + 1 >= argc)
                return std::string(name) + " needs a value";
            value = argv[++i];
        }
        if (auto error = apply(out, name, value); !error.empty())
            return error;
    }
    return {};
}

std::string usage(std::string_view program)
{
    std::string text = "usage: " + std::string(program) + " [options] [-- app arguments]\n";
    text += R"(
Runs the unikernel app as an ordinary Linux process.

options:
  --mem SIZE          memory for the kernel's page allocator (default 64M;
                      suffixes K, M, G). Reserved lazily: unused pages cost nothing.
  --trace FILE        write a binary trace (read it with 'gantry trace dump FILE')
  --log-level LEVEL   debug, info, warn or error (default info)
  -h, --help          show this help
  --version           print the Gantry version

Ctrl-C (SIGINT) or SIGTERM asks the app to stop; a second one stops it at once.
Exit status: the app's own exit code; 2 for bad options; 70 if the kernel could
not boot.
)";
    return text;
}

} // namespace gantry::hosted
