# Compiler launcher, warnings and the build-tree layout.
#
# The build tree mirrors the install tree (bin/cap, lib/cap/plugins/*.so) so that the host finds
# its plugins the same way in both: <directory of cap>/../lib/cap/plugins.

find_program(CAP_CCACHE ccache)
if(CAP_CCACHE)
  # Precompiled headers need these sloppiness settings or ccache never hits.
  # BASEDIR makes paths relative, so clones in other folders share the cache.
  set(_cap_launcher ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "CCACHE_BASEDIR=${CMAKE_SOURCE_DIR}"
      ${CAP_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${_cap_launcher})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_cap_launcher})
endif()

set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
# An installed cap finds a LibTorch outside the system's folders (the one inside a torch wheel)
# where it was linked from.
set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)
set(CAP_PLUGIN_DIR_RELATIVE ${CMAKE_INSTALL_LIBDIR}/cap/plugins)
set(CAP_PLUGIN_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/${CAP_PLUGIN_DIR_RELATIVE})

add_library(cap_warnings INTERFACE)
target_compile_options(cap_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>
  $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic>)
