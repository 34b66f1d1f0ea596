// httpd's request parser (apps/httpd/http_request.*): well-formed requests,
// each malformed kind mapped to its status, bounds, and target mapping.
#include "http_request.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace httpd;

namespace {

ParseStatus parse(const std::string& text, Request& request)
{
    return parse_request(std::string_view(text), request);
}

ParseStatus status_of(const std::string& text)
{
    Request request;
    return parse(text, request);
}

std::string path_of(std::string_view target)
{
    char out[target_bytes_max + 16];
    return std::string(target_to_path(target, out, sizeof(out)));
}

} // namespace

TEST_CASE("http request: a plain GET")
{
    Request request;
    std::string text = "GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\nGET / HTTP/1.1";
    REQUIRE(parse(text, request) == ParseStatus::complete);
    CHECK(request.method == Method::get);
    CHECK(request.target == "/index.html");
    CHECK(request.version == Version::http11);
    CHECK(request.keep_alive);
    CHECK(request.content_length == 0);
    // The next (pipelined) request is not part of this one.
    CHECK(request.header_bytes == text.find("GET /", 1));
}

TEST_CASE("http request: incomplete until the empty line")
{
    std::string text = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";
    for (size_t cut = 0; cut < text.size(); cut++)
        CHECK(status_of(text.substr(0, cut)) == ParseStatus::incomplete);
    Request request;
    REQUIRE(parse(text, request) == ParseStatus::complete);
    CHECK(request.method == Method::head);
}

TEST_CASE("http request: keep-alive rules per version")
{
    Request request;
    REQUIRE(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", request) ==
            ParseStatus::complete);
    CHECK(!request.keep_alive);
    REQUIRE(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", request) ==
            ParseStatus::complete);
    CHECK(!request.keep_alive);
    REQUIRE(parse("GET / HTTP/1.0\r\n\r\n", request) == ParseStatus::complete);
    CHECK(request.version == Version::http10);
    CHECK(!request.keep_alive);
    REQUIRE(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", request) ==
            ParseStatus::complete);
    CHECK(request.keep_alive);
}

TEST_CASE("http request: bare LF line ends and leading empty lines are accepted")
{
    Request request;
    std::string text = "\r\n\nGET /a HTTP/1.1\nHost: x\n\n"; // the request views into it
    REQUIRE(parse(text, request) == ParseStatus::complete);
    CHECK(request.target == "/a");
}

TEST_CASE("http request: other methods parse, for a 405")
{
    Request request;
    std::string text = "POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    REQUIRE(parse(text, request) == ParseStatus::complete);
    CHECK(request.method == Method::other);
    CHECK(request.method_text == "POST");
    CHECK(request.content_length == 5);
}

TEST_CASE("http request: malformed requests are 400")
{
    const char* bad[] = {
        "GET\r\n\r\n",
        "GET /\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",           // two spaces: empty target
        "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",            // not a token
        "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",           // trailing space in the version
        "GET / http/1.1\r\nHost: x\r\n\r\n",            // the version is case-sensitive
        "GET / HTTP/1.1\r\n\r\n",                       // no Host in 1.1
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", // two Hosts
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",           // space before the colon
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", // obs-fold
        "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\x01\r\n\r\n", // a control character
        "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", // a bare CR
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET \x7f HTTP/1.1\r\nHost: x\r\n\r\n",
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n",     // only empty lines
    };
    for (const char* text : bad) {
        INFO(text);
        CHECK(status_of(text) == ParseStatus::bad_request);
    }
}

TEST_CASE("http request: versions other than 1.0 and 1.1 are 505")
{
    CHECK(status_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n") == ParseStatus::bad_version);
    CHECK(status_of("GET / HTTP/0.9\r\n\r\n") == ParseStatus::bad_version);
}

TEST_CASE("http request: a chunked request body is 501")
{
    CHECK(status_of("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") ==
          ParseStatus::not_implemented);
}

TEST_CASE("http request: bounds give 414 and 431")
{
    std::string long_target = "GET /" + std::string(target_bytes_max, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(status_of(long_target) == ParseStatus::target_too_long);
    // A request line that never ends within the header bound.
    CHECK(status_of("GET /" + std::string(header_bytes_max, 'a')) == ParseStatus::target_too_long);
    // Fields that never end.
    std::string endless = "GET / HTTP/1.1\r\nHost: x\r\n";
    while (endless.size() < header_bytes_max)
        endless += "X-Filler: 0123456789012345678901234567890123456789\r\n";
    CHECK(status_of(endless) == ParseStatus::header_too_large);
    CHECK(status_of(endless + "\r\n") == ParseStatus::header_too_large);
    std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (size_t i = 0; i < header_fields_max; i++)
        many += "A: b\r\n";
    CHECK(status_of(many + "\r\n") == ParseStatus::header_too_large);
    // Just under the bound is fine.
    std::string fits = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (size_t i = 0; i + 2 < header_fields_max; i++)
        fits += "A: b\r\n";
    CHECK(status_of(fits + "\r\n") == ParseStatus::complete);
}

TEST_CASE("http request: targets map to image paths")
{
    CHECK(path_of("/") == "index.html");
    CHECK(path_of("/a/b.css") == "a/b.css");
    CHECK(path_of("/docs/") == "docs/index.html");
    CHECK(path_of("/a%20b.txt?x=1#f") == "a b.txt");
    CHECK(path_of("/?q") == "index.html");
    CHECK(path_of("/%2e%2e/etc/passwd") == "");
    CHECK(path_of("/../x") == "");
    CHECK(path_of("/a//b") == "");
    CHECK(path_of("/a/./b") == "");
    CHECK(path_of("/bad%2") == "");
    CHECK(path_of("/bad%zz") == "");
    CHECK(path_of("/nul%00") == "");
    CHECK(path_of("*") == "");
    CHECK(path_of("http://host/x") == "");
}

TEST_CASE("http request: content types by extension")
{
    CHECK(content_type("index.html") == "text/html; charset=utf-8");
    CHECK(content_type("a/b.CSS") == "text/css; charset=utf-8");
    CHECK(content_type("x.png") == "image/png");
    CHECK(content_type("blob.bin") == "application/octet-stream");
    CHECK(content_type("noext") == "application/octet-stream");
    CHECK(content_type("dir.d/noext") == "application/octet-stream");
    CHECK(content_type("trailingdot.") == "application/octet-stream");
}
