# Install rules and the Debian package (cpack -G DEB, driven by ci/package).
# Layout: /usr/bin/gate, man pages, bash and zsh completion, the systemd units
# of contrib/systemd, the docs and the pipeline schema.
include(GNUInstallDirs)
# cpack (and `make install`) install what is built, without building the
# tests first: ci/package builds only gate and the man pages.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(GATE_PACKAGE_MAINTAINER "gate maintainers <gate-maintainers@example.org>"
    CACHE STRING "The Maintainer of the .deb and its changelog")
set(GATE_PACKAGE_VERSION "" CACHE STRING "A fixed package version (else from git describe)")

# The version header (gate_version.h), gate_version.txt and changelog.gz, on every build.
set(GATE_GENERATED ${CMAKE_BINARY_DIR}/generated)
set(GATE_VERSION_ARGS -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DPROJECT_VERSION=${PROJECT_VERSION}
    -DOUT_DIR=${GATE_GENERATED} "-DMAINTAINER=${GATE_PACKAGE_MAINTAINER}"
    -DGATE_PACKAGE_VERSION=${GATE_PACKAGE_VERSION})
execute_process(COMMAND ${CMAKE_COMMAND} ${GATE_VERSION_ARGS} -P ${CMAKE_SOURCE_DIR}/packaging/version.cmake)
add_custom_target(gate_version ALL
  COMMAND ${CMAKE_COMMAND} ${GATE_VERSION_ARGS} -P ${CMAKE_SOURCE_DIR}/packaging/version.cmake
  BYPRODUCTS ${GATE_GENERATED}/gate_version.h ${GATE_GENERATED}/gate_version.txt
  COMMENT "" VERBATIM)
target_include_directories(gate_model PUBLIC ${GATE_GENERATED})
add_dependencies(gate_model gate_version)

# Man pages from Markdown (docs/man/; docs/pipeline-reference.md, encryption.md
# and remotes.md for gate-pipeline(5)) through go-md2man, gzipped as Debian wants them.
find_program(GO_MD2MAN go-md2man)
set(GATE_MAN_DIR ${CMAKE_BINARY_DIR}/man)
if(GO_MD2MAN)
  set(man_pages)
  foreach(page gate.1 gate-pipeline.5)
    add_custom_command(OUTPUT ${GATE_MAN_DIR}/${page} ${GATE_MAN_DIR}/${page}.gz
      COMMAND ${CMAKE_SOURCE_DIR}/docs/man/build ${GO_MD2MAN} ${page} ${GATE_GENERATED}/gate_version.txt
              ${GATE_MAN_DIR}
      DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/build ${CMAKE_SOURCE_DIR}/docs/man/${page}.md
              ${CMAKE_SOURCE_DIR}/docs/pipeline-reference.md ${CMAKE_SOURCE_DIR}/docs/encryption.md
              ${CMAKE_SOURCE_DIR}/docs/remotes.md ${GATE_GENERATED}/gate_version.txt
      VERBATIM)
    list(APPEND man_pages ${GATE_MAN_DIR}/${page}.gz)
  endforeach()
  add_custom_target(gate_man ALL DEPENDS ${man_pages})
  add_dependencies(gate_man gate_version)
  install(FILES ${GATE_MAN_DIR}/gate.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${GATE_MAN_DIR}/gate-pipeline.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
else()
  message(WARNING "go-md2man not found: no man pages (apt-get install go-md2man)")
endif()

# Full RELRO (lintian: hardening-no-bindnow); a link flag, so nothing recompiles.
target_link_options(gate PRIVATE -Wl,-z,relro,-z,now)
install(TARGETS gate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# A stripped install (cpack) also drops what dh_strip drops (lintian:
# binary-has-unneeded-section).
install(CODE [[
  if(CMAKE_INSTALL_DO_STRIP)
    execute_process(COMMAND strip --remove-section=.comment --remove-section=.note
                    "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/bin/gate" COMMAND_ERROR_IS_FATAL ANY)
  endif()
]])
install(FILES completion/gate.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME gate)
install(FILES completion/_gate DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES docs/pipeline.schema.json DESTINATION ${CMAKE_INSTALL_DATADIR}/gate)
file(GLOB GATE_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES README.md pipeline.yml.example ${GATE_DOCS} packaging/copyright
              ${GATE_GENERATED}/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/gate)
install(FILES contrib/cron/gate DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/gate/examples/cron)
file(GLOB GATE_UNITS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/contrib/systemd/*.service
     ${CMAKE_SOURCE_DIR}/contrib/systemd/*.timer)
install(FILES ${GATE_UNITS} DESTINATION lib/systemd/system) # /usr/lib/systemd/system

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME gate)
set(CPACK_PACKAGE_CONTACT "${GATE_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "pre-flight backup gate for deploys")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "gate backs up the PostgreSQL databases and the volumes a deploy could damage,\n"
    "proves every backup restorable (checksums, a full read-back, optionally a\n"
    "real restore into a scratch database), records the verified set with the\n"
    "git commit it protects, and exits non-zero to stop the deploy when any of\n"
    "that fails. gate rollback puts the data back and checks it.")
string(REPLACE ";" "" CPACK_DEBIAN_PACKAGE_DESCRIPTION "${CPACK_DEBIAN_PACKAGE_DESCRIPTION}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-client, zstd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "age, podman | docker.io, awscli")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # gate_VERSION_ARCH.deb
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/package)
# The version is read when cpack runs, from the build's gate_version.txt.
set(CPACK_GATE_VERSION_FILE ${GATE_GENERATED}/gate_version.txt)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_SOURCE_DIR}/packaging/cpack-options.cmake)
include(CPack)
