// The web chat (web/: the page, its script and style) and the Debian JavaScript, CSS and fonts it loads (marked,
// DOMPurify, highlight.js, KaTeX), embedded into the binary at build time: the list is in CMakeLists.txt, each file
// becomes a byte array (src/server/web_assets.cmake). The page needs no network.
#pragma once

#include <optional>
#include <string_view>

namespace whale::server {

struct WebAsset {
  std::string_view content_type;  // "text/html; charset=utf-8", "font/woff2", ...
  std::string_view body;          // the file's bytes
};

// "/" → the page (web/index.html); "/assets/..." → a file it loads; nullopt for any other path.
std::optional<WebAsset> web_asset(std::string_view path);

}  // namespace whale::server
