# Bootable images: gantry_add_image(NAME SOURCES...) builds build/images/<NAME>.elf,
# a PVH ELF that QEMU (-kernel), Firecracker and Cloud Hypervisor boot directly.
# The app's sources are compiled again with the freestanding flags and linked with
# gantry_core_freestanding, the x86-64 platform (kernel/arch/x86_64) and its
# minimal runtime: no libc, only libgcc for compiler helpers. gantry_add_app()
# calls this for every app.

set(GANTRY_IMAGES_SUPPORTED OFF)
if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
    set(reason "host is ${CMAKE_SYSTEM_NAME}, not Linux")
elseif(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    set(reason "host CPU is ${CMAKE_SYSTEM_PROCESSOR}, not x86_64")
elseif(NOT CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang)$")
    set(reason "compiler ${CMAKE_CXX_COMPILER_ID} is neither GCC nor Clang")
elseif(GANTRY_SANITIZE OR GANTRY_FUZZ)
    set(reason "sanitizer and fuzz builds cannot link a freestanding image")
else()
    set(GANTRY_IMAGES_SUPPORTED ON)
endif()

if(NOT GANTRY_IMAGES_SUPPORTED)
    message(STATUS "Gantry: bootable images skipped: ${reason}")
    return()
endif()

enable_language(ASM)

set(GANTRY_IMAGE_DIR ${CMAKE_BINARY_DIR}/images)
set(GANTRY_ARCH_X86_64_DIR ${PROJECT_SOURCE_DIR}/kernel/arch/x86_64)
# Frame pointers keep the exception handler's backtrace useful; the small code
# model fits an image linked at 1 MiB.
set(GANTRY_IMAGE_COMPILE_FLAGS ${GANTRY_FREESTANDING_FLAGS}
    -fno-pie -mcmodel=small -fno-omit-frame-pointer -ffunction-sections -fdata-sections)
set(GANTRY_IMAGE_LINK_FLAGS
    -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--gc-sections
    -Wl,-z,max-page-size=4096 -Wl,-T,${GANTRY_ARCH_X86_64_DIR}/linker.ld)

# Links an image executable: writes build/images/<name>.elf and prints its size.
function(gantry_image_executable target name)
    set_target_properties(${target} PROPERTIES
        OUTPUT_NAME ${name} SUFFIX ".elf" RUNTIME_OUTPUT_DIRECTORY ${GANTRY_IMAGE_DIR}
        LINK_DEPENDS ${GANTRY_ARCH_X86_64_DIR}/linker.ld)
    target_compile_options(${target} PRIVATE ${GANTRY_IMAGE_COMPILE_FLAGS})
    target_link_options(${target} PRIVATE ${GANTRY_IMAGE_LINK_FLAGS})
    add_custom_command(TARGET ${target} POST_BUILD
        COMMAND size $<TARGET_FILE:${target}>
        COMMENT "Image size of ${name}.elf (text/data/bss bytes)" VERBATIM)
endfunction()

# gantry_add_image(NAME SOURCES...): the app's sources (which use GANTRY_APP(NAME,
# ...)) as a bootable image. Relative sources are relative to the calling folder.
function(gantry_add_image name)
    set(app_source ${CMAKE_BINARY_DIR}/generated/image_app_${name}.cpp)
    set(GANTRY_IMAGE_APP ${name})
    configure_file(${GANTRY_ARCH_X86_64_DIR}/image_app.cpp.in ${app_source} @ONLY)
    add_executable(${name}_image ${app_source} ${ARGN}
                   $<TARGET_OBJECTS:gantry_arch_x86_64_base>
                   $<TARGET_OBJECTS:gantry_arch_x86_64_platform>)
    target_include_directories(${name}_image PRIVATE ${GANTRY_ARCH_X86_64_DIR})
    # Objects come first on the link line, so the core archive (scanned until
    # nothing new resolves) finds the arch seams it calls; libgcc goes last.
    target_link_libraries(${name}_image PRIVATE gantry_virtio_freestanding gantry_core_freestanding
                          gantry_warnings gcc)
    gantry_image_executable(${name}_image ${name})
endfunction()

add_subdirectory(${GANTRY_ARCH_X86_64_DIR} ${CMAKE_BINARY_DIR}/kernel/arch/x86_64)
