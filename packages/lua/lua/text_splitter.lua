-- text.splitter: chunks of long texts (cut by the host).
--
-- Loaded as a chunk called with one argument, a table of dependencies: `host` (the text
-- module's host functions), `unpack`/`pack` (the value codec) and the argument helpers of
-- modules/text.lua (`invalid`, `text_arg`, `self_of`, `check_options` and the option checks), and
-- `share` (rt.share: its table of objects is every process's).
local deps = ...
local type, setmetatable, ipairs, pairs = type, setmetatable, ipairs, pairs
local host, pack, unpack = deps.host, deps.pack, deps.unpack
local invalid, text_arg, self_of, check_options =
  deps.invalid, deps.text_arg, deps.self_of, deps.check_options
local integer_from, boolean, string_list = deps.integer_from, deps.boolean, deps.string_list

local host_split = host.split

local SIZE_OPTIONS = {
  chunk_size = { name = 'chunkSize', check = integer_from(1) },
  chunk_overlap = { name = 'chunkOverlap', check = integer_from(0) },
  separators = { name = 'separators', check = string_list },
}
local RECURSIVE_OPTIONS = { keep_separator = { name = 'keepSeparator', check = boolean } }
local MARKDOWN_OPTIONS = {
  code_blocks = { name = 'codeBlocks', check = boolean },
  reference_links = { name = 'referenceLinks', check = boolean },
  heading_hierarchy = { name = 'headingHierarchy', check = boolean },
  join_table_rows = { name = 'joinTableRows', check = boolean },
}
for _, spec in ipairs({ RECURSIVE_OPTIONS, MARKDOWN_OPTIONS }) do
  for key, field in pairs(SIZE_OPTIONS) do spec[key] = field end
end

local splitters = setmetatable({}, { __mode = 'k' }) -- object → { kind, options = packed }
deps.share(splitters)
local Splitter = {}
local SPLITTER_MT = { __index = Splitter, __name = 'text.Splitter', __metatable = 'text.Splitter' }

function Splitter:split_text(text)
  local state = self_of(splitters, self, 'text.Splitter:split_text')
  local s, problem = text_arg(text, 'text.Splitter:split_text: text')
  if s == nil then return invalid(problem) end
  return unpack(host_split(state.kind, s, state.options)), nil
end

function Splitter:split_batch(pages)
  local state = self_of(splitters, self, 'text.Splitter:split_batch')
  local where = 'text.Splitter:split_batch'
  if type(pages) ~= 'table' then
    return invalid(where .. ': pages must be a table, got ' .. type(pages))
  end
  local out = {}
  for i, page in ipairs(pages) do
    if type(page) ~= 'table' then
      return invalid(where .. ': pages[' .. i .. '] must be a table, got ' .. type(page))
    end
    local content, metadata = page.content, page.metadata
    if content ~= nil and type(content) ~= 'string' then
      return invalid(where .. ': pages[' .. i .. '].content must be a string, got '
        .. type(content))
    end
    if metadata ~= nil and type(metadata) ~= 'table' then
      return invalid(where .. ': pages[' .. i .. '].metadata must be a table, got '
        .. type(metadata))
    end
    if content ~= nil and content ~= '' then
      for _, chunk in ipairs(unpack(host_split(state.kind, content, state.options))) do
        out[#out + 1] = { content = chunk, metadata = metadata or {} }
      end
    end
  end
  return out, nil
end

local function new_splitter(kind, spec)
  local where = 'text.splitter.' .. kind
  return function(options)
    local checked, problem = check_options(options, where, spec)
    if checked == nil then return invalid(problem) end
    local size, overlap = checked.chunkSize, checked.chunkOverlap
    if overlap ~= nil and overlap >= (size or 512) then
      return invalid(where .. ': options.chunk_overlap (' .. overlap
        .. ') must be smaller than chunk_size (' .. (size or 512) .. ')')
    end
    local object = setmetatable({}, SPLITTER_MT)
    splitters[object] = { kind = kind, options = pack(checked) }
    return object, nil
  end
end

local splitter = {
  recursive = new_splitter('recursive', RECURSIVE_OPTIONS),
  markdown = new_splitter('markdown', MARKDOWN_OPTIONS),
}

return splitter
