-- text.regexp: RE2 regular expressions (compiled and matched by the host).
--
-- Loaded as a chunk called with one argument, a table of dependencies: `host` (the text
-- module's host functions), `unpack`/`pack` (the value codec) and the argument helpers of
-- modules/text.lua (`invalid`, `text_arg`, `self_of`, `check_options` and the option checks), and
-- `share` (rt.share: its table of objects is every process's).
local deps = ...
local type, setmetatable, ipairs, tostring = type, setmetatable, ipairs, tostring
local sub = string.sub
local mtype = math.type
local host, unpack = deps.host, deps.unpack
local invalid, text_arg, self_of = deps.invalid, deps.text_arg, deps.self_of

local re_compile, re_match, re_find, re_replace, re_split =
  host.re_compile, host.re_match, host.re_find, host.re_replace, host.re_split

local regexps = setmetatable({}, { __mode = 'k' }) -- object → { pattern, groups, names }
deps.share(regexps)
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

function regexp.compile(value)
  local pattern, problem = text_arg(value, 'text.regexp.compile: pattern')
  if pattern == nil then return invalid(problem) end
  local groups, names = re_compile(pattern)
  if groups == nil then return invalid('text.regexp.compile: ' .. names) end
  local object = setmetatable({}, REGEXP_MT)
  regexps[object] = { pattern = pattern, groups = groups, names = unpack(names) }
  return object
end

return regexp
