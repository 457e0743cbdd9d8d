# `cmake --install`: headers, libraries, the CMake package (find_package(ftcodec CONFIG)),
# ftcodec.pc, the CLI, its man page (help2man) and bash completion. The Python package installs
# itself (python/CMakeLists.txt). Included by the top-level CMakeLists.txt.
include(CMakePackageConfigHelpers)

set(FTC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ftcodec)

# Headers: include/ftcodec, without torch.h unless the torch component is built.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ftcodec DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev FILES_MATCHING PATTERN "*.h" PATTERN "torch.h" EXCLUDE)

install(TARGETS ftcodec ftcodec_decoder EXPORT ftcodecTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT lib)
install(EXPORT ftcodecTargets NAMESPACE ftcodec:: DESTINATION ${FTC_CMAKE_DIR} COMPONENT dev)

if(TARGET ftcodec_torch)
  install(FILES ${PROJECT_SOURCE_DIR}/include/ftcodec/torch.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ftcodec COMPONENT dev)
  install(TARGETS ftcodec_torch EXPORT ftcodecTorchTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib)
  # The object that registers codec `learned` (codec/torch/CMakeLists.txt says why it is not in
  # the archive); ftcodec::ftcodec_torch adds it to every program that links it.
  install(FILES $<TARGET_OBJECTS:ftcodec_learned_register>
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/ftcodec COMPONENT dev RENAME learned_register.o)
  install(EXPORT ftcodecTorchTargets NAMESPACE ftcodec:: DESTINATION ${FTC_CMAKE_DIR}
          COMPONENT dev)
endif()

# What the static library needs from its consumers (ftcodecConfig.cmake, ftcodec.pc).
set(FTC_INSTALL_HAS_JPEG OFF)
set(FTC_INSTALL_HAS_HEVC OFF)
set(FTC_PC_DEPS "libhwy libxxhash")
# The backends' folders define FTC_HAVE_<NAME> on ftcodec (their imported targets are local to
# those folders).
get_target_property(ftc_defs ftcodec INTERFACE_COMPILE_DEFINITIONS)
if("FTC_HAVE_JPEG" IN_LIST ftc_defs)
  set(FTC_INSTALL_HAS_JPEG ON)
  string(APPEND FTC_PC_DEPS " libturbojpeg")
endif()
if("FTC_HAVE_HEVC" IN_LIST ftc_defs)
  set(FTC_INSTALL_HAS_HEVC ON)
  string(APPEND FTC_PC_DEPS " x265 libavcodec libavutil")
endif()
set(FTC_INSTALL_CODECS raw ans)
if(FTC_INSTALL_HAS_JPEG)
  list(APPEND FTC_INSTALL_CODECS jpeg)
endif()
if(FTC_INSTALL_HAS_HEVC)
  list(APPEND FTC_INSTALL_CODECS hevc)
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ftcodecConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ftcodecConfig.cmake INSTALL_DESTINATION ${FTC_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ftcodecConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ftcodecConfig.cmake
              ${PROJECT_BINARY_DIR}/ftcodecConfigVersion.cmake
        DESTINATION ${FTC_CMAKE_DIR} COMPONENT dev)

# ftcodec.pc. A shared libftcodec.so carries its dependencies (Requires.private, Libs.private:
# only `pkg-config --static` lists them); the static archive does not, so there they are public.
file(RELATIVE_PATH FTC_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" FTC_PC_TO_PREFIX "${FTC_PC_TO_PREFIX}")
if(BUILD_SHARED_LIBS)
  set(FTC_PC_REQUIRES "Requires.private")
  set(FTC_PC_LIBS "")
  set(FTC_PC_LIBS_PRIVATE "Libs.private: -pthread")
else()
  set(FTC_PC_REQUIRES "Requires")
  set(FTC_PC_LIBS "-pthread")
  set(FTC_PC_LIBS_PRIVATE "")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/ftcodec.pc.in ${PROJECT_BINARY_DIR}/ftcodec.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ftcodec.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev)

# The CLI: the lean `ftcodec` and, beside it in bin/ (where `ftcodec` looks for it first),
# `ftcodec-full`, which finds a shared libftcodec next to it in the prefix.
file(RELATIVE_PATH ftc_bin_to_lib "/prefix/${CMAKE_INSTALL_BINDIR}" "/prefix/${CMAKE_INSTALL_LIBDIR}")
install(TARGETS ftcodec_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
if(TARGET ftcodec_full_cli)
  set_target_properties(ftcodec_full_cli PROPERTIES INSTALL_RPATH "$ORIGIN/${ftc_bin_to_lib}")
  install(TARGETS ftcodec_full_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
  set(ftc_full_cli_name ftcodec-full)
  set(ftc_full_cli_target ftcodec_full_cli)
else()
  set(ftc_full_cli_name "")
  set(ftc_full_cli_target "")
endif()

# Man page ftcodec(1), made from the CLI's --help and --version by help2man (the lean
# `ftcodec`; it hands `bench --help` and the like to ftcodec-full, which the page also covers).
# (Not in sanitizer builds: running the instrumented CLI at build time is not worth the risk.)
find_program(HELP2MAN help2man)
if(HELP2MAN AND NOT FTC_SANITIZE)
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/ftcodec.1
    COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:ftcodec_cli>
            -DOUT=${PROJECT_BINARY_DIR}/ftcodec.1.include -DFULL=${ftc_full_cli_name}
            -P ${PROJECT_SOURCE_DIR}/cmake/man_subcommands.cmake
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr
            --name "compress neural-network feature tensors"
            --include ${PROJECT_BINARY_DIR}/ftcodec.1.include
            --output ${PROJECT_BINARY_DIR}/ftcodec.1 $<TARGET_FILE:ftcodec_cli>
    DEPENDS ftcodec_cli ${ftc_full_cli_target} ${PROJECT_SOURCE_DIR}/cmake/man_subcommands.cmake
    VERBATIM)
  add_custom_target(ftcodec_man ALL DEPENDS ${PROJECT_BINARY_DIR}/ftcodec.1)
  install(FILES ${PROJECT_BINARY_DIR}/ftcodec.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
          COMPONENT cli)
  if(ftc_full_cli_name)
    # ftcodec-full(1): the same page.
    file(WRITE ${PROJECT_BINARY_DIR}/ftcodec-full.1 ".so man1/ftcodec.1\n")
    install(FILES ${PROJECT_BINARY_DIR}/ftcodec-full.1
            DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT cli)
  endif()
else()
  message(STATUS "ftcodec: no man page (help2man missing (Debian: help2man) or FTC_SANITIZE=ON)")
endif()

# bash completion (bash-completion loads it on demand from this folder, by command name).
foreach(ftc_cli_name ftcodec ${ftc_full_cli_name})
  install(FILES ${PROJECT_SOURCE_DIR}/scripts/completion/ftcodec.bash
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ${ftc_cli_name}
          COMPONENT cli)
endforeach()
