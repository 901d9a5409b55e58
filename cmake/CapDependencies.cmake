# Every third-party package cap builds against; all come from Debian 12 packages
# (see .ci/install-deps for the list).

find_package(Torch REQUIRED)            # libtorch-dev
find_package(Boost 1.74 REQUIRED)       # libboost-dev: Boost.DLL (header-only with std::filesystem)
find_package(tomlplusplus REQUIRED)     # libtomlplusplus-dev
find_package(spdlog REQUIRED)           # libspdlog-dev
find_package(dlpack REQUIRED)           # libdlpack-dev
find_package(nlohmann_json REQUIRED)    # nlohmann-json3-dev
find_package(CLI11 REQUIRED)            # libcli11-dev
find_package(OpenSSL REQUIRED)          # libssl-dev: SHA-256 of plugin files for the manifest

# libutf8proc-dev: Unicode categories, case mapping and NFD for the BERT tokenizer. Debian ships
# no CMake package for it, so find it by hand.
find_path(UTF8PROC_INCLUDE_DIR utf8proc.h REQUIRED)
find_library(UTF8PROC_LIBRARY utf8proc REQUIRED)
add_library(cap_utf8proc INTERFACE)
target_include_directories(cap_utf8proc INTERFACE ${UTF8PROC_INCLUDE_DIR})
target_link_libraries(cap_utf8proc INTERFACE ${UTF8PROC_LIBRARY})
if(CAP_BUILD_TESTS)
  find_package(doctest REQUIRED)        # doctest-dev
endif()

if(NOT TARGET torch)
  message(FATAL_ERROR "find_package(Torch) did not define the 'torch' target")
endif()

# Which LibTorch this is: Debian's 1.13 (CPU) or the one inside PyPI's torch wheel (2.x, usually
# CUDA), found through -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)').
set(CAP_TORCH_HAS_CUDA OFF)
if(TARGET torch_cuda)
  set(CAP_TORCH_HAS_CUDA ON)
  find_package(CUDAToolkit REQUIRED)   # found by TorchConfig already; c10/cuda headers need it
endif()
message(STATUS "cap: LibTorch ${Torch_VERSION} from ${TORCH_INSTALL_PREFIX} (CUDA: ${CAP_TORCH_HAS_CUDA})")

# The wheel's libtorch.so also exports parts of a newer libstdc++ than the system's (the
# manylinux toolchain links them in statically), std::filesystem among them; when libtorch.so
# comes before libstdc++.so in a program's needed libraries, cap's calls bind to those copies,
# and std::filesystem::remove_all jumps to address 0. Naming libstdc++ first makes the system's
# own definitions win for every program and plugin (with Debian's LibTorch it changes nothing).
add_link_options("LINKER:--push-state,--no-as-needed,-lstdc++,--pop-state")

# The wheel's LibTorch ships its own fmt (12.x) in its include folder, which would shadow the
# fmt 9 that Debian's spdlog is compiled against. cap's code sees Debian's: a folder holding only
# a link to it goes in front of LibTorch's include folders.
if(EXISTS "${TORCH_INSTALL_PREFIX}/include/fmt")
  get_target_property(_cap_fmt_includes fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
  find_path(CAP_FMT_INCLUDE_DIR fmt/core.h HINTS ${_cap_fmt_includes} REQUIRED)
  set(_cap_fmt_shim "${CMAKE_BINARY_DIR}/fmt-first")
  file(MAKE_DIRECTORY "${_cap_fmt_shim}")
  file(CREATE_LINK "${CAP_FMT_INCLUDE_DIR}/fmt" "${_cap_fmt_shim}/fmt" SYMBOLIC)
  get_target_property(_cap_torch_includes torch INTERFACE_INCLUDE_DIRECTORIES)
  set_target_properties(torch PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_cap_fmt_shim};${_cap_torch_includes}")
endif()

# One precompiled header of LibTorch for every LibTorch plugin and test (REUSE_FROM).
add_library(cap_torch_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch_anchor.cpp)
target_link_libraries(cap_torch_pch PRIVATE torch dlpack::dlpack cap_warnings)
set_target_properties(cap_torch_pch PROPERTIES POSITION_INDEPENDENT_CODE ON
                      CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
target_precompile_headers(cap_torch_pch PRIVATE <ATen/ATen.h> <string> <vector> <memory>)
