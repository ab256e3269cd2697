#!/usr/bin/env bash
# Builds the Lua engine luact runs (engine/lua.wasm and its glue engine/lua.cjs) from the
# vendored Lua sources and luact.patch, and records how in engine/build-info.json.
# Needs emscripten (Debian 12: `apt-get install -y emscripten`, 3.1.6). Run from anywhere.
set -euo pipefail
export LC_ALL=C  # the order in which sources are hashed

here=$(cd "$(dirname "$0")" && pwd)
lua=lua-5.4.6
out="$here/engine"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$here/$lua"/*.c "$here/$lua"/*.h "$work/"
patch --quiet -d "$work" -p1 <"$here/luact.patch"
# Ours: the allocator of luact's Lua states (see README.md).
cp "$here/luact_heap.c" "$work/"

# What lua-api.ts and lua-heap.ts call.
exports=(
  malloc free realloc
  luact_heap_allocator luact_heap_new luact_heap_free luact_heap_open_slot luact_heap_close_slot
  luact_heap_collected
  luaL_newstate lua_newstate luaL_openlibs lua_close luaL_loadbufferx luaL_ref luaL_unref
  luaL_traceback lua_atpanic
  lua_newthread lua_resume luact_resume lua_status lua_isyieldable luact_canyield luact_running
  lua_yieldk lua_pcallk lua_callk lua_error luact_onwork
  lua_sethook lua_getinfo lua_getstack luact_preemptat luact_shrinkstack luact_trimthread
  luact_sharetable luact_kernelfunction luact_boxcounts
  lua_gettop lua_settop lua_pushvalue lua_rotate lua_xmove lua_checkstack lua_absindex
  lua_type lua_toboolean lua_tointegerx lua_tonumberx lua_tolstring lua_touserdata lua_tothread
  lua_rawequal lua_isinteger
  lua_pushnil lua_pushboolean lua_pushinteger lua_pushnumber lua_pushlstring lua_pushcclosure
  lua_pushlightuserdata lua_pushthread lua_newuserdatauv
  lua_createtable lua_getfield lua_setfield lua_rawgeti lua_rawseti lua_getglobal lua_setglobal
)
exported=$(printf '_%s,' "${exports[@]}")

# Lua is compiled as C++ so that its errors and yields (LUAI_THROW in ldo.c) are C++
# exceptions, which -fwasm-exceptions makes WebAssembly exceptions: no JavaScript on the way.
flags=(
  -O3 -fwasm-exceptions -g3 -mbulk-memory -mnontrapping-fptoint
  -sWASM_BIGINT=1
  -sMODULARIZE=1 -sEXPORT_NAME=createLuaModule -sENVIRONMENT=node
  -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=2147483648
  -sALLOW_TABLE_GROWTH=1
  "-sEXPORTED_FUNCTIONS=${exported%,}"
  -sEXPORTED_RUNTIME_METHODS=addFunction,removeFunction
  -sNODEJS_CATCH_EXIT=0 -sNODEJS_CATCH_REJECTION=0
)
# Compiled without debug information, linked with -g3: the exports keep their C names (the
# loader binds them directly) and the wasm has a name section (profiles show Lua's functions).
compile=(-O3 -fwasm-exceptions -DNDEBUG -mbulk-memory -mnontrapping-fptoint)

# Debian's emscripten finds its JavaScript tools (acorn) in Debian's node path.
if [ -d /usr/share/nodejs ]; then export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"; fi

mkdir -p "$out"
(
  cd "$work"
  # Lua as one translation unit (its files in the order of Lua's own one-file build): the
  # compiler inlines across them — the table lookups and calls into the interpreter loop.
  for part in lzio lctype lopcodes lmem lundump ldump lstate lgc llex lcode lparser ldebug lfunc \
    lobject ltm lstring ltable ldo lvm lapi lauxlib lbaselib lcorolib ldblib liolib lmathlib \
    loadlib loslib lstrlib ltablib lutf8lib linit; do
    echo "#include \"$part.c\""
  done >one_lua.c
  for source in one_lua.c luact_heap.c; do em++ -Wno-deprecated -x c++ "${compile[@]}" -c "$source"; done
  em++ ./*.o "${flags[@]}" -o lua.js
)
# The system libraries bring DWARF sections; only the name section is kept.
"$(em-config LLVM_ROOT)/llvm-strip" --strip-debug "$work/lua.wasm" -o "$out/lua.wasm"
cp "$work/lua.js" "$out/lua.cjs"

sources=$(cd "$here" && cat "$lua"/*.c "$lua"/*.h luact.patch luact_heap.c | sha256sum | cut -d' ' -f1)
node -e '
  const [version, sources, wasm, ...flags] = process.argv.slice(1);
  const info = { lua: "5.4.6", emscripten: version, sources, wasm, flags };
  process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
' "$(em++ --version | sed -n 1p)" "$sources" "$(sha256sum "$out/lua.wasm" | cut -d' ' -f1)" \
  "${compile[@]}" "${flags[@]}" >"$out/build-info.json"
echo "built $out/lua.wasm ($(wc -c <"$out/lua.wasm") bytes)"
