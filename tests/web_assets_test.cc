// The embedded web chat (server/web_assets.h): the page at "/", its own files and the Debian JS/CSS/fonts under
// /assets/, byte-exact (fonts are binary), and nothing else.
#include "server/web_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace whale::server {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(WebAssets, PageAtRoot) {
  const std::optional<WebAsset> page = web_asset("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<html"), std::string_view::npos);
  const auto source = std::filesystem::path(__FILE__).parent_path().parent_path() / "web" / "index.html";
  EXPECT_TRUE(page->body == read_file(source.string())) << "differs from " << source;
}

TEST(WebAssets, ScriptsAndStylesTheirTypes) {
  for (const char* path : {"/assets/app.js", "/assets/markdown.js", "/assets/store.js", "/assets/marked.min.js",
                           "/assets/purify.min.js", "/assets/highlight.min.js", "/assets/katex/katex.min.js"}) {
    const std::optional<WebAsset> a = web_asset(path);
    ASSERT_TRUE(a) << path;
    EXPECT_EQ(a->content_type, "text/javascript; charset=utf-8") << path;
    EXPECT_FALSE(a->body.empty()) << path;
  }
  for (const char* path : {"/assets/app.css", "/assets/highlight-light.css", "/assets/highlight-dark.css",
                           "/assets/katex/katex.min.css"}) {
    const std::optional<WebAsset> a = web_asset(path);
    ASSERT_TRUE(a) << path;
    EXPECT_EQ(a->content_type, "text/css; charset=utf-8") << path;
  }
}

TEST(WebAssets, DebianFilesByteExact) {
  const std::pair<const char*, const char*> files[] = {
      {"/assets/katex/fonts/KaTeX_Main-Regular.woff2", "/usr/share/javascript/katex/fonts/KaTeX_Main-Regular.woff2"},
      {"/assets/katex/fonts/KaTeX_Math-Italic.woff2", "/usr/share/javascript/katex/fonts/KaTeX_Math-Italic.woff2"},
      {"/assets/marked.min.js", "/usr/share/javascript/marked/marked.min.js"},
      {"/assets/katex/katex.min.css", "/usr/share/javascript/katex/katex.min.css"},
  };
  for (const auto& [path, file] : files) {
    if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " is not installed here";
    const std::optional<WebAsset> a = web_asset(path);
    ASSERT_TRUE(a) << path;
    const std::string want = read_file(file);
    EXPECT_EQ(a->body.size(), want.size()) << path;
    EXPECT_TRUE(a->body == want) << path << " differs from " << file;  // not EXPECT_EQ: no 100 KB diff on failure
  }
  const std::optional<WebAsset> font = web_asset("/assets/katex/fonts/KaTeX_Main-Regular.woff2");
  ASSERT_TRUE(font);
  EXPECT_EQ(font->content_type, "font/woff2");
  EXPECT_TRUE(font->body.starts_with("wOF2"));
  EXPECT_NE(font->body.find('\0'), std::string_view::npos);  // binary: NUL bytes survive
}

// Every font the KaTeX style sheet loads first is embedded.
TEST(WebAssets, EveryKatexFontOfTheCss) {
  const std::optional<WebAsset> css = web_asset("/assets/katex/katex.min.css");
  ASSERT_TRUE(css);
  int fonts = 0;
  for (size_t at = css->body.find("url(fonts/"); at != std::string_view::npos;
       at = css->body.find("url(fonts/", at + 1)) {
    const size_t start = at + 4, end = css->body.find(')', start);
    const std::string_view url = css->body.substr(start, end - start);
    if (!url.ends_with(".woff2")) continue;
    ++fonts;
    EXPECT_TRUE(web_asset("/assets/katex/" + std::string(url))) << url;
  }
  EXPECT_GE(fonts, 10);
}

TEST(WebAssets, UnknownPathsAreNotServed) {
  for (const char* path : {"", "/index.html", "/assets/", "/assets/nope.js", "/assets/katex/fonts/KaTeX_Nope.woff2",
                           "/assets/../CMakeLists.txt", "/v1/models", "assets/app.js", "/assets/app.js?v=1"})
    EXPECT_FALSE(web_asset(path)) << path;
}

}  // namespace
}  // namespace whale::server
