-- text (docs/lua-api/text.md): text.regexp (RE2 patterns), text.diff (diffs and patches),
-- text.splitter (chunks for language models). The host matches, diffs and splits; here are the
-- objects, the argument checks and the error objects. Objects are tables whose state is kept
-- in weak tables here, so Lua code cannot forge one.
local host, rt = ...
local type, setmetatable, ipairs, pairs, error, tostring =
  type, setmetatable, ipairs, pairs, error, tostring
local sub, gsub, concat = string.sub, string.gsub, table.concat
local mtype = math.type
local pack, unpack = rt.codec.encode, rt.codec.decode

local function failure(kind, message)
  return nil, rt.make_error(kind, message, false)
end

local function invalid(message) return failure('INVALID', message) end

-- nil when `value` is a string (a number reads as its text, as Lua's string functions take it),
-- else why not.
local function text_arg(value, where)
  local t = type(value)
  if t == 'string' then return value end
  if t == 'number' then return tostring(value) end
  return nil, where .. ' must be a string, got ' .. t
end

-- The method's object, or a raised error for a call with `.` instead of `:` (a mistake in the
-- code, not in the data).
local function self_of(states, self, name)
  local state = states[self]
  if state == nil then error(name .. ': call it as a method, with `:`', 3) end
  return state
end

---------------------------------------------------------------------------------------------
-- Options: each module's known keys and their checks; an unknown key is an error.

local function check_options(options, where, spec)
  if options == nil then return {} end
  if type(options) ~= 'table' then
    return nil, where .. ': options must be a table, got ' .. type(options)
  end
  local out = {}
  for key, value in pairs(options) do
    local field = spec[key]
    if field == nil then return nil, where .. ': unknown option ' .. tostring(key) end
    local problem = field.check(value)
    if problem ~= nil then return nil, where .. ': options.' .. key .. ' ' .. problem end
    out[field.name] = value
  end
  return out
end

local function number_in(low, high)
  return function(v)
    if type(v) ~= 'number' or v ~= v then return 'must be a number, got ' .. type(v) end
    if v < low or (high ~= nil and v > high) then
      return 'must be ' .. (high and ('between ' .. low .. ' and ' .. high) or ('at least ' .. low))
        .. ', got ' .. v
    end
  end
end

local function integer_from(low)
  return function(v)
    if mtype(v) ~= 'integer' and not (mtype(v) == 'float' and v == v // 1) then
      return 'must be an integer, got ' .. (type(v) == 'number' and tostring(v) or type(v))
    end
    if v < low then return 'must be at least ' .. low .. ', got ' .. v end
  end
end

local function boolean(v)
  if type(v) ~= 'boolean' then return 'must be a boolean, got ' .. type(v) end
end

local function string_list(v)
  if type(v) ~= 'table' then return 'must be a list of strings, got ' .. type(v) end
  for i, s in ipairs(v) do
    if type(s) ~= 'string' then return '[' .. i .. '] must be a string, got ' .. type(s) end
  end
end

---------------------------------------------------------------------------------------------
-- text.regexp

local re_compile, re_match, re_find, re_replace, re_split =
  host.re_compile, host.re_match, host.re_find, host.re_replace, host.re_split

local regexps = setmetatable({}, { __mode = 'k' }) -- object → { pattern, groups, names }
local Regexp = {}
local REGEXP_MT = { __index = Regexp, __name = 'text.Regexp', __metatable = 'text.Regexp' }

-- The matched text of group `g` (0 is the whole match) of a match's byte offsets; "" for a
-- group that took no part.
local function group_text(s, match, g)
  local from = match[2 * g + 1]
  if from < 0 then return '' end
  return sub(s, from + 1, match[2 * g + 2])
end

local function matches(state, s, limit)
  return unpack(re_find(state.pattern, s, limit))
end

-- Each method checks its subject string the same way; `fn(state, s, ...)` does the work.
local function method(name, fn)
  local where = 'text.Regexp:' .. name
  Regexp[name] = function(self, s, ...)
    local state = self_of(regexps, self, where)
    local subject, problem = text_arg(s, where .. ': s')
    if subject == nil then return invalid(problem) end
    return fn(state, subject, ...)
  end
end

method('match_string', function(state, s) return re_match(state.pattern, s) end)

method('find_string', function(state, s)
  local match = matches(state, s, 1)[1]
  if match == nil then return nil end
  return group_text(s, match, 0)
end)

method('find_all_string', function(state, s)
  local out = {}
  for i, match in ipairs(matches(state, s, -1)) do out[i] = group_text(s, match, 0) end
  return out
end)

local function submatches(state, s, match)
  local out = {}
  for g = 0, state.groups do out[g + 1] = group_text(s, match, g) end
  return out
end

method('find_string_submatch', function(state, s)
  local match = matches(state, s, 1)[1]
  if match == nil then return nil end
  return submatches(state, s, match)
end)

method('find_all_string_submatch', function(state, s)
  local out = {}
  for i, match in ipairs(matches(state, s, -1)) do out[i] = submatches(state, s, match) end
  return out
end)

method('find_string_index', function(state, s)
  local match = matches(state, s, 1)[1]
  if match == nil then return nil end
  return { match[1] + 1, match[2] }
end)

method('find_all_string_index', function(state, s)
  local found = matches(state, s, -1)
  if #found == 0 then return nil end
  local out = {}
  for i, match in ipairs(found) do out[i] = { match[1] + 1, match[2] } end
  return out
end)

method('replace_all_string', function(state, s, replacement)
  local template, problem = text_arg(replacement, 'text.Regexp:replace_all_string: replacement')
  if template == nil then return invalid(problem) end
  return re_replace(state.pattern, s, template)
end)

method('split', function(state, s, n)
  if n == nil then n = -1 end
  if mtype(n) ~= 'integer' and not (mtype(n) == 'float' and n == n // 1) then
    return invalid('text.Regexp:split: n must be an integer, got '
      .. (type(n) == 'number' and tostring(n) or type(n)))
  end
  return unpack(re_split(state.pattern, s, n))
end)

function Regexp:num_subexp()
  return self_of(regexps, self, 'text.Regexp:num_subexp').groups
end

function Regexp:subexp_names()
  local names = self_of(regexps, self, 'text.Regexp:subexp_names').names
  local out = {}
  for i, name in ipairs(names) do out[i] = name end
  return out
end

function Regexp:string()
  return self_of(regexps, self, 'text.Regexp:string').pattern
end

local regexp = {}

function regexp.compile(pattern)
  if type(pattern) ~= 'string' then
    return invalid('text.regexp.compile: pattern must be a string, got ' .. type(pattern))
  end
  local groups, names = re_compile(pattern)
  if groups == nil then return invalid('text.regexp.compile: ' .. names) end
  local object = setmetatable({}, REGEXP_MT)
  regexps[object] = { pattern = pattern, groups = groups, names = unpack(names) }
  return object
end

---------------------------------------------------------------------------------------------
-- text.diff

local diff_compare, diff_patch_make, diff_patch_apply =
  host.diff_compare, host.diff_patch_make, host.diff_patch_apply

local DIFF_OPTIONS = {
  diff_timeout = { name = 'diffTimeout', check = number_in(0) },
  diff_edit_cost = { name = 'diffEditCost', check = integer_from(1) },
  match_threshold = { name = 'matchThreshold', check = number_in(0, 1) },
  match_distance = { name = 'matchDistance', check = integer_from(0) },
  patch_delete_threshold = { name = 'patchDeleteThreshold', check = number_in(0, 1) },
  patch_margin = { name = 'patchMargin', check = integer_from(1) },
}

local OPERATION_NAME = { [-1] = 'delete', [0] = 'equal', [1] = 'insert' }
local OPERATIONS = { delete = true, equal = true, insert = true }

local differs = setmetatable({}, { __mode = 'k' }) -- object → { options = packed options }
local Differ = {}
local DIFFER_MT = { __index = Differ, __name = 'text.Differ', __metatable = 'text.Differ' }

-- Two texts, or nil and an INVALID error naming the one that is not a string.
local function two_texts(where, a, b)
  local first, problem = text_arg(a, where .. ': text1')
  if first == nil then return invalid(problem) end
  local second, problem2 = text_arg(b, where .. ': text2')
  if second == nil then return invalid(problem2) end
  return first, second
end

-- Nil when `diffs` is a list of { operation = "equal" | "delete" | "insert", text = string },
-- else why not.
local function check_diffs(where, diffs)
  if type(diffs) ~= 'table' then return where .. ': diffs must be a table, got ' .. type(diffs) end
  for i, d in ipairs(diffs) do
    if type(d) ~= 'table' or not OPERATIONS[d.operation] or type(d.text) ~= 'string' then
      return where .. ': diffs[' .. i .. '] must be { operation = "equal" | "delete" | '
        .. '"insert", text = string }'
    end
  end
end

function Differ:compare(text1, text2)
  local state = self_of(differs, self, 'text.Differ:compare')
  local a, b = two_texts('text.Differ:compare', text1, text2)
  if a == nil then return nil, b end
  local out = {}
  for i, piece in ipairs(unpack(diff_compare(a, b, state.options))) do
    out[i] = { operation = OPERATION_NAME[piece[1]], text = piece[2] }
  end
  return out, nil
end

function Differ:summarize(diffs)
  self_of(differs, self, 'text.Differ:summarize')
  local problem = check_diffs('text.Differ:summarize', diffs)
  if problem ~= nil then return invalid(problem) end
  local count = { insert = 0, delete = 0, equal = 0 }
  for _, d in ipairs(diffs) do count[d.operation] = count[d.operation] + #d.text end
  return { insertions = count.insert, deletions = count.delete, equals = count.equal }
end

local ANSI = { insert = '\27[32m', delete = '\27[31m' }

function Differ:pretty_text(diffs)
  self_of(differs, self, 'text.Differ:pretty_text')
  local problem = check_diffs('text.Differ:pretty_text', diffs)
  if problem ~= nil then return invalid(problem) end
  local out = {}
  for i, d in ipairs(diffs) do
    local color = ANSI[d.operation]
    out[i] = color and (color .. d.text .. '\27[0m') or d.text
  end
  return concat(out), nil
end

local HTML_ESCAPE = { ['&'] = '&amp;', ['<'] = '&lt;', ['>'] = '&gt;', ['\n'] = '&para;<br>' }
local HTML_TAG = {
  insert = { '<ins style="background:#e6ffe6;">', '</ins>' },
  delete = { '<del style="background:#ffe6e6;">', '</del>' },
  equal = { '<span>', '</span>' },
}

function Differ:pretty_html(diffs)
  self_of(differs, self, 'text.Differ:pretty_html')
  local problem = check_diffs('text.Differ:pretty_html', diffs)
  if problem ~= nil then return invalid(problem) end
  local out = {}
  for i, d in ipairs(diffs) do
    local tag = HTML_TAG[d.operation]
    out[i] = tag[1] .. gsub(d.text, '[&<>\n]', HTML_ESCAPE) .. tag[2]
  end
  return concat(out), nil
end

function Differ:patch_make(text1, text2)
  local state = self_of(differs, self, 'text.Differ:patch_make')
  local a, b = two_texts('text.Differ:patch_make', text1, text2)
  if a == nil then return nil, b end
  local out = {}
  for i, patch in ipairs(unpack(diff_patch_make(a, b, state.options))) do
    out[i] = { text = patch }
  end
  return out, nil
end

function Differ:patch_apply(patches, text)
  local state = self_of(differs, self, 'text.Differ:patch_apply')
  local where = 'text.Differ:patch_apply'
  if type(patches) ~= 'table' then
    return invalid(where .. ': patches must be a table, got ' .. type(patches))
  end
  local texts = {}
  for i, patch in ipairs(patches) do
    local patch_text = type(patch) == 'table' and patch.text or patch
    if type(patch_text) ~= 'string' then
      return invalid(where .. ': patches[' .. i .. '] must be { text = string } from patch_make')
    end
    texts[i] = patch_text
  end
  local target, problem = text_arg(text, where .. ': text')
  if target == nil then return invalid(problem) end
  local result, applied = diff_patch_apply(pack(texts), target, state.options)
  if result == nil then return invalid(where .. ': ' .. applied) end
  return result, applied
end

local diff = {}

function diff.new(options)
  local checked, problem = check_options(options, 'text.diff.new', DIFF_OPTIONS)
  if checked == nil then return invalid(problem) end
  local object = setmetatable({}, DIFFER_MT)
  differs[object] = { options = pack(checked) }
  return object, nil
end

---------------------------------------------------------------------------------------------
-- text.splitter

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

return { regexp = regexp, diff = diff, splitter = splitter }
