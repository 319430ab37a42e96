# Embeds the web chat's files into the binary, binary-safe (fonts too): each file becomes a C++ byte array in a .cc
# generated at build time (so configuring stays fast and an edited page only regenerates its own .cc), and a table
# generated at configure time from src/server/web_assets.cc.in maps URL paths to them (server/web_assets.h).
#
# include()d by CMakeLists.txt: whale_embed_web_assets() and whale_css_fonts().
# Run as a script by the build, for one file:
#   cmake -DINPUT=<file> -DOUTPUT=<.cc> -DSYMBOL=<name> -P src/server/web_assets.cmake
# writes whale::server::web_data::<SYMBOL>[] (the bytes and a trailing 0) and <SYMBOL>_size (without the 0).
if(CMAKE_SCRIPT_MODE_FILE)
  foreach(var INPUT OUTPUT SYMBOL)
    if(NOT DEFINED ${var})
      message(FATAL_ERROR "web_assets.cmake: -D${var}=... is required")
    endif()
  endforeach()
  file(READ "${INPUT}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  file(WRITE "${OUTPUT}.tmp"
       "// Generated from ${INPUT} by src/server/web_assets.cmake: do not edit.\n"
       "#include <cstddef>\n\n"
       "namespace whale::server::web_data {\n"
       "extern const unsigned char ${SYMBOL}[];\n"
       "extern const size_t ${SYMBOL}_size;\n"
       "const unsigned char ${SYMBOL}[] = {${bytes}0x00};\n"
       "const size_t ${SYMBOL}_size = sizeof(${SYMBOL}) - 1;\n"
       "}  // namespace whale::server::web_data\n")
  file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
  return()
endif()

# Appends to <out> one (URL path, file, package) triple per woff2 font that <css> loads (url(fonts/X.woff2), relative
# to the CSS file), served under <url_dir>/fonts/. Nothing when the CSS is absent (its own entry reports it).
function(whale_css_fonts out css url_dir package)
  set(triples ${${out}})
  if(EXISTS ${css})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${css})
    get_filename_component(dir ${css} DIRECTORY)
    file(READ ${css} text)
    string(REGEX MATCHALL "fonts/[A-Za-z0-9_-]+\\.woff2" fonts "${text}")
    list(REMOVE_DUPLICATES fonts)
    foreach(font ${fonts})
      list(APPEND triples ${url_dir}/${font} ${dir}/${font} ${package})
    endforeach()
  endif()
  set(${out} ${triples} PARENT_SCOPE)
endfunction()

# whale_embed_web_assets(<target> <url> <file> <package> ...): embeds each file into <target>, served at <url>; the
# package is the Debian package that provides the file ("-": a file of this repository). A missing file fails the
# configuration, naming the package to install.
function(whale_embed_web_assets target)
  set(script ${CMAKE_CURRENT_FUNCTION_LIST_FILE})
  set(decls "")
  set(entries "")
  set(index 0)
  while(ARGN)
    list(POP_FRONT ARGN url file package)
    if(NOT EXISTS ${file})
      if(package STREQUAL "-")
        message(FATAL_ERROR "web chat: ${file} (served as ${url}) is missing from the checkout")
      endif()
      message(FATAL_ERROR "web chat: ${file} (served as ${url}) is missing: install the Debian package ${package} "
                          "(apt-get install ${package}, or run scripts/setup.sh)")
    endif()
    if(file MATCHES "\\.html$")
      set(type "text/html; charset=utf-8")
    elseif(file MATCHES "\\.js$")
      set(type "text/javascript; charset=utf-8")
    elseif(file MATCHES "\\.css$")
      set(type "text/css; charset=utf-8")
    elseif(file MATCHES "\\.woff2$")
      set(type "font/woff2")
    else()
      message(FATAL_ERROR "web chat: no content type for ${file}")
    endif()
    set(cc ${CMAKE_BINARY_DIR}/generated/web/asset_${index}.cc)
    add_custom_command(OUTPUT ${cc}
      COMMAND ${CMAKE_COMMAND} -DINPUT=${file} -DOUTPUT=${cc} -DSYMBOL=asset_${index} -P ${script}
      DEPENDS ${file} ${script}
      COMMENT "Embedding ${url} (${file})" VERBATIM)
    target_sources(${target} PRIVATE ${cc})
    string(APPEND decls "extern const unsigned char asset_${index}[];\nextern const size_t asset_${index}_size;\n")
    string(APPEND entries "    {\"${url}\", \"${type}\", web_data::asset_${index}, &web_data::asset_${index}_size},\n")
    math(EXPR index "${index} + 1")
  endwhile()
  string(STRIP "${decls}" WHALE_WEB_ASSET_DECLS)
  set(WHALE_WEB_ASSET_ENTRIES "${entries}")
  string(REGEX REPLACE "\n$" "" WHALE_WEB_ASSET_ENTRIES "${WHALE_WEB_ASSET_ENTRIES}")
  configure_file(${CMAKE_CURRENT_FUNCTION_LIST_DIR}/web_assets.cc.in ${CMAKE_BINARY_DIR}/generated/web_assets.cc @ONLY)
  target_sources(${target} PRIVATE ${CMAKE_BINARY_DIR}/generated/web_assets.cc)
endfunction()
