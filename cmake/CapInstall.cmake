# `cmake --install` lays out: bin/cap, lib/cap/plugins/*.so, include/cap/*.h(pp), and the CMake
# package CapSdk (lib/cmake/CapSdk) with cap_add_plugin() for third-party plugins.
include(CMakePackageConfigHelpers)

install(TARGETS cap RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY sdk/include/cap DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS cap_sdk EXPORT CapSdkTargets)
set(_cap_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/CapSdk)
install(EXPORT CapSdkTargets NAMESPACE CapSdk:: DESTINATION ${_cap_cmake_dir})

configure_package_config_file(cmake/CapSdkConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/CapSdkConfig.cmake
  INSTALL_DESTINATION ${_cap_cmake_dir}
  PATH_VARS CAP_PLUGIN_DIR_RELATIVE)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/CapSdkConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/CapSdkConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/CapSdkConfigVersion.cmake
  cmake/CapPlugin.cmake
  cmake/cap_plugin.map
  DESTINATION ${_cap_cmake_dir})
