// The packetdrill script parser: a preprocessing pass (#ifdef blocks, header
// options), a lexer that keeps line numbers, and a recursive-descent parser
// over the tokens. Every error names the line and what was expected.
#include "script.hpp"

#include <cctype>
#include <cstdlib>
#include <limits>

namespace gantry::pkt {

namespace {

constexpr std::size_t tokens_max = 1'000'000;   // a script is a few hundred
constexpr std::size_t nesting_max = 16;          // #ifdef and [ ] { } depth

struct Token {
    enum class Kind : std::uint8_t { word, punct, command, code, string, end };
    Kind kind = Kind::end;
    std::string text;
    int line = 0;
};

bool is_word_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
}

std::string trim(const std::string& text)
{
    std::size_t begin = 0;
    std::size_t end = text.size();
    while (begin < end && std::isspace(static_cast<unsigned char>(text[begin])) != 0)
        ++begin;
    while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1])) != 0)
        --end;
    return text.substr(begin, end - begin);
}

// Keeps the line structure (so token lines stay right) but blanks lines that
// an #ifdef excludes and lines that are header options, which go to `script`.
std::string preprocess(const std::string& text, const std::vector<std::string>& defines,
                       Script& script)
{
    std::string out;
    out.reserve(text.size());
    std::vector<std::pair<bool, int>> stack; // (this block is kept, its line)
    bool keep = true;
    int line = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos)
            end = text.size();
        std::string raw = text.substr(pos, end - pos);
        ++line;
        std::string stripped = trim(raw);
        bool blank = false;
        if (!stripped.empty() && stripped[0] == '#') {
            blank = true;
            std::string directive = stripped.substr(0, stripped.find_first_of(" \t"));
            std::string argument = trim(stripped.substr(directive.size()));
            if (directive == "#ifdef" || directive == "#ifndef") {
                if (stack.size() >= nesting_max)
                    throw ParseError(line, "#ifdef nested deeper than 16");
                bool defined = false;
                for (const std::string& name : defines)
                    defined = defined || name == argument;
                bool taken = directive == "#ifdef" ? defined : !defined;
                stack.emplace_back(keep, line);
                keep = keep && taken;
            } else if (directive == "#else") {
                if (stack.empty())
                    throw ParseError(line, "#else without #ifdef");
                bool outer = stack.back().first;
                keep = outer && !keep;
            } else if (directive == "#endif") {
                if (stack.empty())
                    throw ParseError(line, "#endif without #ifdef");
                keep = stack.back().first;
                stack.pop_back();
            } else {
                throw ParseError(line, "unsupported preprocessor directive '" + directive +
                                           "' (only #ifdef, #ifndef, #else, #endif)");
            }
        } else if (!keep) {
            blank = true;
        } else if (stripped.size() > 2 && stripped[0] == '-' && stripped[1] == '-') {
            blank = true;
            std::string body = stripped.substr(2);
            std::size_t cut = body.find_first_of(" \t/");
            body = body.substr(0, cut);
            std::size_t equals = body.find('=');
            ScriptOption option{line, body.substr(0, equals),
                                equals == std::string::npos ? "" : body.substr(equals + 1)};
            script.options.push_back(option);
        }
        if (!blank)
            out += raw;
        out += '\n';
        pos = end + 1;
    }
    if (!stack.empty())
        throw ParseError(stack.back().second, "#ifdef without #endif");
    return out;
}

class Lexer {
public:
    explicit Lexer(const std::string& text) : m_text(text) {}

    std::vector<Token> run()
    {
        std::vector<Token> tokens;
        for (;;) {
            Token token = next();
            if (tokens.size() >= tokens_max)
                throw ParseError(token.line, "script too long (more than 1,000,000 tokens)");
            bool done = token.kind == Token::Kind::end;
            tokens.push_back(std::move(token));
            if (done)
                return tokens;
        }
    }

private:
    char peek(std::size_t ahead = 0) const
    {
        return m_pos + ahead < m_text.size() ? m_text[m_pos + ahead] : '\0';
    }
    void advance()
    {
        if (m_text[m_pos] == '\n')
            ++m_line;
        ++m_pos;
    }
    void skip_space_and_comments()
    {
        for (;;) {
            if (m_pos >= m_text.size())
                return;
            char c = peek();
            if (std::isspace(static_cast<unsigned char>(c)) != 0) {
                advance();
            } else if (c == '/' && peek(1) == '/') {
                while (m_pos < m_text.size() && peek() != '\n')
                    advance();
            } else if (c == '/' && peek(1) == '*') {
                int start = m_line;
                advance();
                advance();
                while (m_pos < m_text.size() && !(peek() == '*' && peek(1) == '/'))
                    advance();
                if (m_pos >= m_text.size())
                    throw ParseError(start, "unterminated /* comment");
                advance();
                advance();
            } else {
                return;
            }
        }
    }
    // Text up to `close` (exclusive), which must come before the end of input.
    std::string delimited(const std::string& close, const char* what)
    {
        int start = m_line;
        std::size_t end = m_text.find(close, m_pos);
        if (end == std::string::npos)
            throw ParseError(start, std::string("unterminated ") + what);
        std::string body = m_text.substr(m_pos, end - m_pos);
        while (m_pos < end + close.size())
            advance();
        return body;
    }

    Token next()
    {
        skip_space_and_comments();
        Token token;
        token.line = m_line;
        if (m_pos >= m_text.size())
            return token;
        char c = peek();
        if (c == '`') {
            advance();
            token.kind = Token::Kind::command;
            token.text = delimited("`", "backtick command");
        } else if (c == '%' && peek(1) == '{') {
            advance();
            advance();
            token.kind = Token::Kind::code;
            token.text = delimited("}%", "%{ code block");
        } else if (c == '"') {
            advance();
            token.kind = Token::Kind::string;
            token.text = delimited("\"", "string");
        } else if (is_word_char(c)) {
            token.kind = Token::Kind::word;
            while (m_pos < m_text.size() && is_word_char(peek())) {
                token.text += peek();
                advance();
            }
        } else if (std::string("<>()[]{},:=|+-*/~!&;").find(c) != std::string::npos) {
            token.kind = Token::Kind::punct;
            token.text = std::string(1, c);
            advance();
        } else {
            throw ParseError(m_line, "unexpected character '" + std::string(1, c) + "'");
        }
        return token;
    }

    const std::string& m_text;
    std::size_t m_pos = 0;
    int m_line = 1;
};

// "0.1" -> 100000 microseconds; nullopt for anything else.
std::optional<std::int64_t> parse_seconds(const std::string& text)
{
    if (text.empty())
        return std::nullopt;
    std::int64_t whole = 0;
    std::int64_t micros = 0;
    std::size_t i = 0;
    bool digits = false;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0; ++i) {
        if (whole > 1'000'000'000)
            return std::nullopt;
        whole = whole * 10 + (text[i] - '0');
        digits = true;
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        std::int64_t scale = 100'000;
        for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0; ++i) {
            micros += (text[i] - '0') * scale;
            scale /= 10;
            digits = true;
        }
    }
    if (i != text.size() || !digits)
        return std::nullopt;
    return whole * 1'000'000 + micros;
}

std::optional<std::int64_t> parse_integer(const std::string& text)
{
    if (text.empty())
        return std::nullopt;
    int base = 10;
    std::size_t start = 0;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        start = 2;
    }
    std::int64_t value = 0;
    for (std::size_t i = start; i < text.size(); ++i) {
        int digit = 0;
        char c = text[i];
        if (std::isdigit(static_cast<unsigned char>(c)) != 0)
            digit = c - '0';
        else if (base == 16 && std::isxdigit(static_cast<unsigned char>(c)) != 0)
            digit = std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
        else
            return std::nullopt;
        if (value > (std::numeric_limits<std::int64_t>::max() - digit) / base)
            return std::nullopt;
        value = value * base + digit;
    }
    return value;
}

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : m_tokens(std::move(tokens)) {}

    void run(Script& script)
    {
        while (!at_end())
            script.events.push_back(event());
    }

private:
    const Token& peek(std::size_t ahead = 0) const
    {
        std::size_t index = m_pos + ahead;
        return index < m_tokens.size() ? m_tokens[index] : m_tokens.back();
    }
    bool at_end() const { return peek().kind == Token::Kind::end; }
    const Token& take()
    {
        const Token& token = peek();
        if (m_pos < m_tokens.size() - 1)
            ++m_pos;
        return token;
    }
    bool is_punct(const char* text, std::size_t ahead = 0) const
    {
        return peek(ahead).kind == Token::Kind::punct && peek(ahead).text == text;
    }
    bool is_word(const char* text) const
    {
        return peek().kind == Token::Kind::word && peek().text == text;
    }
    [[noreturn]] void fail(const std::string& what) const
    {
        const Token& token = peek();
        bool end = token.kind == Token::Kind::end;
        // At the end, blame the line of the last token: that is where it is missing.
        int line = end && m_pos > 0 ? m_tokens[m_pos - 1].line : token.line;
        std::string found = end ? "end of script" : "'" + token.text + "'";
        throw ParseError(line, "expected " + what + ", found " + found);
    }
    void expect_punct(const char* text)
    {
        if (!is_punct(text))
            fail(std::string("'") + text + "'");
        take();
    }
    std::uint32_t number32(const char* what)
    {
        if (peek().kind != Token::Kind::word)
            fail(what);
        auto value = parse_integer(peek().text);
        if (!value || *value > 0xffffffffLL)
            fail(std::string(what) + " (an unsigned 32-bit number)");
        take();
        return static_cast<std::uint32_t>(*value);
    }

    Event event()
    {
        Event event;
        event.line = peek().line;
        // A command may stand without a time (the nplab fork's set-up lines):
        // it runs right after the previous event.
        if (peek().kind == Token::Kind::command) {
            event.time.kind = TimeKind::relative;
            event.body = CommandSpec{take().text};
            return event;
        }
        event.time = time();
        const Token& head = peek();
        if (is_punct("<") || is_punct(">"))
            event.body = packet();
        else if (head.kind == Token::Kind::command)
            event.body = CommandSpec{take().text};
        else if (head.kind == Token::Kind::code)
            event.body = CodeSpec{take().text};
        else if (head.kind == Token::Kind::word && is_punct("(", 1))
            event.body = syscall();
        else
            fail("a packet ('<' or '>'), a system call, a `command` or %{ code }%");
        return event;
    }

    EventTime time()
    {
        EventTime time;
        if (is_punct("*")) {
            take();
            time.kind = TimeKind::any;
            return time;
        }
        if (is_punct("+")) {
            take();
            time.kind = TimeKind::relative;
        }
        if (peek().kind != Token::Kind::word)
            fail("an event time ('0.1', '+0.1' or '*')");
        std::string text = peek().text;
        std::size_t dots = text.find("...");
        std::string start = dots == std::string::npos ? text : text.substr(0, dots);
        auto usecs = parse_seconds(start);
        if (!usecs)
            fail("an event time in seconds");
        take();
        time.usecs = *usecs;
        if (dots != std::string::npos) {
            std::string rest = text.substr(dots + 3);
            TimeKind end_kind = TimeKind::absolute;
            if (rest.empty() && is_punct("+")) {
                take();
                end_kind = TimeKind::relative;
                if (peek().kind != Token::Kind::word)
                    fail("the end time of a blocking call");
                rest = take().text;
            }
            auto end = parse_seconds(rest);
            if (!end)
                throw ParseError(peek().line, "bad end time '" + rest + "' after '...'");
            time.end = std::make_pair(end_kind, *end);
        }
        if (is_punct("~"))
            throw ParseError(peek().line, "time ranges ('a~b') are not supported");
        return time;
    }

    PacketSpec packet()
    {
        PacketSpec packet;
        packet.direction = take().text == "<" ? Direction::inbound : Direction::outbound;
        while (is_punct("(")) { // `(ttl N)`, `(tos N)`: IPv4 header fields
            take();
            int line = peek().line;
            std::string field = peek().kind == Token::Kind::word ? take().text : std::string();
            if (field != "ttl" && field != "tos")
                throw ParseError(line, "unknown IP header field '" + field +
                                           "' (packetdrill has 'ttl N' and 'tos N')");
            std::uint32_t value = number32("a ttl or tos value");
            if (value > 255)
                throw ParseError(line, field + " " + std::to_string(value) +
                                           " does not fit the 8-bit header field");
            expect_punct(")");
            packet.ip_fields.push_back(field + " " + std::to_string(value));
            if (packet.ip_fields.size() > 2)
                throw ParseError(line, "more than two IP header fields before a packet");
        }
        if (is_word("icmp")) {
            take();
            packet.icmp = icmp();
            return packet;
        }
        if (peek().kind != Token::Kind::word && !is_punct("."))
            fail("TCP flags (like 'S', 'S.', '.', 'F.', 'R')");
        packet.flags = take().text;
        for (char c : packet.flags)
            if (std::string("SAFRPUEWC.").find(c) == std::string::npos)
                throw ParseError(peek().line, "unknown TCP flag '" + std::string(1, c) +
                                                  "' in '" + packet.flags + "'");
        sequence(packet.seq_start, packet.seq_end, packet.length);
        for (;;) {
            if (is_word("ack")) {
                take();
                packet.ack = number32("an acknowledgment number");
            } else if (is_word("win")) {
                take();
                packet.window = number32("a window");
            } else if (is_word("urg")) {
                take();
                packet.urgent = number32("an urgent pointer");
            } else {
                break;
            }
        }
        if (is_punct("<"))
            tcp_options(packet);
        if (is_punct("/"))
            throw ParseError(peek().line, "UDP encapsulation ('/udp') is not supported");
        return packet;
    }

    void sequence(std::uint32_t& start, std::uint32_t& end, std::uint32_t& length)
    {
        start = number32("a sequence range 'start:end(length)'");
        expect_punct(":");
        end = number32("the end of the sequence range");
        expect_punct("(");
        length = number32("a payload length");
        expect_punct(")");
        if (end - start != length)
            throw ParseError(peek().line, "sequence range " + std::to_string(start) + ":" +
                                              std::to_string(end) + " does not span " +
                                              std::to_string(length) + " bytes");
    }

    IcmpSpec icmp()
    {
        IcmpSpec spec;
        if (peek().kind != Token::Kind::word)
            fail("an ICMP type");
        spec.type = take().text;
        if (peek().kind == Token::Kind::word && !is_word("mtu"))
            spec.code = take().text;
        if (is_word("mtu")) {
            take();
            spec.mtu = number32("an MTU");
        }
        expect_punct("[");
        sequence(spec.seq_start, spec.seq_end, spec.length);
        expect_punct("]");
        return spec;
    }

    void tcp_options(PacketSpec& packet)
    {
        expect_punct("<");
        if (is_word("...")) {
            take();
            expect_punct(">");
            packet.options_any = true;
            return;
        }
        std::vector<TcpOptionSpec> options;
        for (;;) {
            if (options.size() >= 40)
                throw ParseError(peek().line, "more than 40 TCP options");
            options.push_back(tcp_option());
            if (is_punct(",")) {
                take();
                continue;
            }
            expect_punct(">");
            break;
        }
        packet.options = std::move(options);
    }

    TcpOptionSpec tcp_option()
    {
        TcpOptionSpec option;
        if (peek().kind != Token::Kind::word)
            fail("a TCP option (nop, eol, mss, wscale, sackOK, sack, TS)");
        int line = peek().line;
        std::string name = take().text;
        using Kind = TcpOptionSpec::Kind;
        if (name == "nop") {
            option.kind = Kind::nop;
        } else if (name == "eol") {
            option.kind = Kind::eol;
        } else if (name == "mss") {
            option.kind = Kind::mss;
            option.value = number32("an MSS value");
        } else if (name == "wscale") {
            option.kind = Kind::wscale;
            option.value = number32("a window scale shift");
        } else if (name == "sackOK") {
            option.kind = Kind::sack_permitted;
        } else if (name == "sack") {
            option.kind = Kind::sack;
            while (peek().kind == Token::Kind::word && option.blocks.size() < 4) {
                std::uint32_t left = number32("a SACK block 'left:right'");
                expect_punct(":");
                std::uint32_t right = number32("the right edge of a SACK block");
                option.blocks.emplace_back(left, right);
            }
            if (option.blocks.empty())
                fail("a SACK block 'left:right'");
        } else if (name == "TS") {
            option.kind = Kind::timestamp;
            if (!is_word("val"))
                fail("'val' after 'TS'");
            take();
            option.ts_val = number32("a timestamp value");
            if (!is_word("ecr"))
                fail("'ecr' after the timestamp value");
            take();
            option.ts_ecr = number32("a timestamp echo reply");
        } else if (name == "md5") {
            option.kind = Kind::md5;
            if (!is_word("valid") && !is_word("invalid"))
                fail("'valid' or 'invalid' after 'md5'");
            option.value = take().text == "valid" ? 1 : 0;
        } else {
            throw ParseError(line, "unsupported TCP option '" + name + "'");
        }
        return option;
    }

    SyscallSpec syscall()
    {
        SyscallSpec call;
        call.name = take().text;
        expect_punct("(");
        if (!is_punct(")")) {
            for (;;) {
                call.args.push_back(expression(0));
                if (is_punct(",")) {
                    take();
                    continue;
                }
                break;
            }
        }
        expect_punct(")");
        expect_punct("=");
        call.result = expression(0);
        if (peek().kind == Token::Kind::word && is_errno_name(peek().text))
            call.errno_name = take().text;
        if (is_punct("("))
            skip_note();
        return call;
    }

    static bool is_errno_name(const std::string& text)
    {
        return text.size() > 1 && text[0] == 'E' &&
               std::isupper(static_cast<unsigned char>(text[1])) != 0;
    }

    // The free text after a result, "(Operation now in progress)".
    void skip_note()
    {
        int line = peek().line;
        int depth = 0;
        do {
            if (at_end())
                throw ParseError(line, "unterminated '(' note after a system call");
            if (is_punct("("))
                ++depth;
            else if (is_punct(")"))
                --depth;
            take();
        } while (depth > 0);
    }

    Expr expression(std::size_t depth)
    {
        if (depth > nesting_max)
            throw ParseError(peek().line, "expression nested too deeply");
        Expr first = primary(depth);
        if (!is_punct("|"))
            return first;
        Expr combined;
        combined.kind = Expr::Kind::bit_or;
        combined.items.push_back(std::move(first));
        while (is_punct("|")) {
            take();
            combined.items.push_back(primary(depth));
        }
        return combined;
    }

    Expr primary(std::size_t depth)
    {
        Expr expr;
        const Token& token = peek();
        if (token.kind == Token::Kind::string) {
            expr.kind = Expr::Kind::string;
            expr.text = take().text;
        } else if (is_punct("-")) {
            take();
            if (peek().kind != Token::Kind::word || !parse_integer(peek().text))
                fail("a number after '-'");
            expr.kind = Expr::Kind::integer;
            expr.value = -*parse_integer(take().text);
        } else if (is_punct("[") || is_punct("{")) {
            bool brace = is_punct("{");
            take();
            expr.kind = Expr::Kind::list;
            while (!is_punct(brace ? "}" : "]")) {
                if (expr.items.size() >= 64)
                    throw ParseError(peek().line, "list longer than 64 items");
                expr.items.push_back(expression(depth + 1));
                if (!is_punct(","))
                    break;
                take();
            }
            expect_punct(brace ? "}" : "]");
        } else if (token.kind == Token::Kind::word) {
            if (token.text == "...") {
                expr.kind = Expr::Kind::ellipsis;
            } else if (auto value = parse_integer(token.text)) {
                expr.kind = Expr::Kind::integer;
                expr.value = *value;
            } else if (std::isdigit(static_cast<unsigned char>(token.text[0])) != 0) {
                fail("a number");
            } else {
                expr.kind = Expr::Kind::name;
                expr.text = token.text;
            }
            take();
            if (expr.kind == Expr::Kind::name && is_punct("=")) // {.field = value}
                throw ParseError(peek().line, "struct field initialisers are not supported");
        } else {
            fail("an argument (a number, a name, '...', [list])");
        }
        return expr;
    }

    std::vector<Token> m_tokens;
    std::size_t m_pos = 0;
};

} // namespace

Script parse_script(const std::string& text, const std::vector<std::string>& defines)
{
    Script script;
    std::string body = preprocess(text, defines, script);
    Parser parser(Lexer(body).run());
    parser.run(script);
    return script;
}

std::string describe(const TcpOptionSpec& option)
{
    using Kind = TcpOptionSpec::Kind;
    switch (option.kind) {
    case Kind::eol: return "eol";
    case Kind::nop: return "nop";
    case Kind::mss: return "mss " + std::to_string(option.value);
    case Kind::wscale: return "wscale " + std::to_string(option.value);
    case Kind::sack_permitted: return "sackOK";
    case Kind::md5: return option.value ? "md5 valid" : "md5 invalid";
    case Kind::sack: {
        std::string text = "sack";
        for (const auto& [left, right] : option.blocks)
            text += " " + std::to_string(left) + ":" + std::to_string(right);
        return text;
    }
    case Kind::timestamp:
        return "TS val " + std::to_string(option.ts_val) + " ecr " +
               std::to_string(option.ts_ecr);
    }
    return "?";
}

std::string describe(const PacketSpec& packet)
{
    std::string text = packet.direction == Direction::inbound ? "< " : "> ";
    if (packet.icmp) {
        const IcmpSpec& icmp = *packet.icmp;
        return text + "icmp " + icmp.type + (icmp.code.empty() ? "" : " " + icmp.code) +
               " [" + std::to_string(icmp.seq_start) + ":" + std::to_string(icmp.seq_end) +
               "(" + std::to_string(icmp.length) + ")]";
    }
    text += packet.flags + " " + std::to_string(packet.seq_start) + ":" +
            std::to_string(packet.seq_end) + "(" + std::to_string(packet.length) + ")";
    if (packet.ack)
        text += " ack " + std::to_string(*packet.ack);
    if (packet.window)
        text += " win " + std::to_string(*packet.window);
    if (packet.options_any) {
        text += " <...>";
    } else if (packet.options) {
        text += " <";
        for (std::size_t i = 0; i < packet.options->size(); ++i)
            text += (i ? "," : "") + describe((*packet.options)[i]);
        text += ">";
    }
    return text;
}

} // namespace gantry::pkt
