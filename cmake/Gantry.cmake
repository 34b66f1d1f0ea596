# Project-wide compiler settings and the gantry_add_app() function.

find_program(GANTRY_CCACHE ccache)
if(GANTRY_CCACHE)
    set(CMAKE_C_COMPILER_LAUNCHER ${GANTRY_CCACHE})
    set(CMAKE_CXX_COMPILER_LAUNCHER ${GANTRY_CCACHE})
endif()

# Warnings for everything we compile ourselves.
add_library(gantry_warnings INTERFACE)
target_compile_options(gantry_warnings INTERFACE
    -Wall -Wextra -Wno-unused-parameter -Wimplicit-fallthrough -Wnon-virtual-dtor)

if(GANTRY_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                        -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()

# In the fuzz build every library is instrumented for coverage (the parsers live
# in the core, not in the fuzz targets' own files); the targets add the driver.
if(GANTRY_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
endif()

# Flags of the bootable image: the freestanding core library is compiled with these
# in every build, so a stray OS include or libc call breaks the build, not the boot.
set(GANTRY_FREESTANDING_FLAGS
    -ffreestanding -fno-exceptions -fno-rtti -fno-asynchronous-unwind-tables
    -mno-red-zone -nostdlib -fno-stack-protector -fno-threadsafe-statics
    -fno-pic -fno-builtin -fno-sanitize=all -fno-omit-frame-pointer)

set(GANTRY_APP_REGISTRY "" CACHE INTERNAL "apps known to the simulator")

# gantry_add_app(NAME SOURCES...): builds the app into build/bin/<name> on the
# hosted platform. The app's sources define gantry_app_<name>() through
# GANTRY_APP(); later issues add the image and the simulator from the same sources.
function(gantry_add_app name)
    add_library(gantry_app_${name} STATIC ${ARGN})
    target_link_libraries(gantry_app_${name} PUBLIC gantry_core PRIVATE gantry_warnings)
    set(main_source ${CMAKE_BINARY_DIR}/generated/app_main_${name}.cpp)
    configure_file(${PROJECT_SOURCE_DIR}/hosted/app_main.cpp.in ${main_source} @ONLY)
    add_executable(${name} ${main_source})
    target_link_libraries(${name} PRIVATE gantry_app_${name} gantry_hosted gantry_warnings)
    set(GANTRY_APP_REGISTRY "${GANTRY_APP_REGISTRY};${name}" CACHE INTERNAL "")
    # The bootable image (cmake/Image.cmake) and other platforms hook in here.
    if(COMMAND gantry_add_image)
        gantry_add_image(${name} ${ARGN})
    endif()
endfunction()

include(${CMAKE_CURRENT_LIST_DIR}/Image.cmake OPTIONAL)
