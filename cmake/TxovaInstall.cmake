# Install rules and the CMake package, so `find_package(txova_kafka)` works downstream.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/txova DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(txova_installed_libraries txova_kafka_core txova_kafka)
if(TARGET txova_kafka_metrics)
  list(APPEND txova_installed_libraries txova_kafka_metrics)
endif()
if(TARGET txova_kafka_opentelemetry)
  list(APPEND txova_installed_libraries txova_kafka_opentelemetry)
endif()
install(TARGETS ${txova_installed_libraries} EXPORT txova_kafka_targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT txova_kafka_targets NAMESPACE txova::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/txova_kafka)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/txova_kafka-config.cmake.in
  ${PROJECT_BINARY_DIR}/txova_kafka-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/txova_kafka)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/txova_kafka-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/txova_kafka-config.cmake
              ${PROJECT_BINARY_DIR}/txova_kafka-config-version.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/txova_kafka)
