// The web chat page (web/index.html), embedded into the binary at build time (see CMakeLists.txt).
#pragma once

#include <string_view>

namespace whale::server {

std::string_view web_index_html();

}  // namespace whale::server
