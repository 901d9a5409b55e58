# cap_add_plugin(<target> SOURCES <src>... [TORCH] [OUTPUT_DIRECTORY <dir>]
#                [INSTALL_DESTINATION <dir>])
#
# Builds a cap plugin: a MODULE library named <target>.so whose only dynamic symbol is
# cap_plugin_entry. Used in this tree and shipped with the SDK (find_package(CapSdk)).
#   TORCH               link LibTorch (call find_package(Torch) first); enables cap/plugin_torch.hpp
#   OUTPUT_DIRECTORY    where the .so is written (default: CAP_PLUGIN_OUTPUT_DIRECTORY if set,
#                       else the current binary directory)
#   INSTALL_DESTINATION install the plugin there

set(_CAP_PLUGIN_MAP "${CMAKE_CURRENT_LIST_DIR}/cap_plugin.map")

function(cap_add_plugin target)
  cmake_parse_arguments(ARG "TORCH" "OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "cap_add_plugin(${target}): SOURCES is required")
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE CapSdk::sdk)
  if(ARG_TORCH)
    if(NOT TARGET torch)
      message(FATAL_ERROR "cap_add_plugin(${target} TORCH): call find_package(Torch REQUIRED) first")
    endif()
    target_link_libraries(${target} PRIVATE torch)
    if(TARGET cap_torch_pch)
      target_precompile_headers(${target} REUSE_FROM cap_torch_pch)
    endif()
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set(_out "${ARG_OUTPUT_DIRECTORY}")
  elseif(DEFINED CAP_PLUGIN_OUTPUT_DIRECTORY)
    set(_out "${CAP_PLUGIN_OUTPUT_DIRECTORY}")
  else()
    set(_out "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY "${_out}"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS "${_CAP_PLUGIN_MAP}")
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${_CAP_PLUGIN_MAP}"
    "LINKER:--no-undefined")
  if(ARG_INSTALL_DESTINATION)
    install(TARGETS ${target} LIBRARY DESTINATION "${ARG_INSTALL_DESTINATION}")
  endif()
endfunction()
