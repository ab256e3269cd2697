-- text.diff: diffs and patches (computed by the host); summaries and renderings.
--
-- Loaded as a chunk called with one argument, a table of dependencies: `host` (the text
-- module's host functions), `unpack`/`pack` (the value codec) and the argument helpers of
-- modules/text.lua (`invalid`, `text_arg`, `self_of`, `check_options` and the option checks), and
-- `share` (rt.share: its table of objects is every process's).
local deps = ...
local type, setmetatable, ipairs = type, setmetatable, ipairs
local gsub, concat = string.gsub, table.concat
local host, pack, unpack = deps.host, deps.pack, deps.unpack
local invalid, text_arg, self_of, check_options, number_in, integer_from =
  deps.invalid, deps.text_arg, deps.self_of, deps.check_options, deps.number_in, deps.integer_from

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
deps.share(differs)
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

return diff
