-- crypto (docs/lua-api/crypto.md): secure random values, HMAC, authenticated encryption (AES-GCM,
-- ChaCha20-Poly1305), JWT, PBKDF2 and a constant-time compare. Here the argument checks and the
-- error objects (bad input: nil, err of kind INVALID; a ciphertext or token that does not check
-- out: nil, err of kind INTERNAL, as Wippy reports them); the host computes.
local host, rt = ...
local type, ipairs, next, tostring = type, ipairs, next, tostring
local math_type, floor = math.type, math.floor
local make_error = rt.make_error

local json = rt.libs.json({
  new_error = function(kind, message) return make_error(rt.errors[kind], message, false) end,
  array_mt = rt.ARRAY_MT,
})
local uuid = rt.libs.uuid({
  random_bytes = host.random_bytes,
  now_ms = function() return 0 end, -- only v4 is used
  new_error = function(kind, message) return make_error(rt.errors[kind], message, false) end,
})

local MAX_RANDOM = 1024 * 1024
local MAX_ITERATIONS = 10000000
local ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
local AES_KEY_SIZES = { [16] = true, [24] = true, [32] = true }
local SEALED_OVERHEAD = 12 + 16 -- nonce and tag around the ciphertext
-- The digests pbkdf2 takes, by the bytes of a block of the key each makes.
local PBKDF2_DIGESTS = { sha256 = 32, sha512 = 64 }
local JWT_ALGORITHMS = {
  HS256 = true, HS384 = true, HS512 = true, RS256 = true, RS384 = true, RS512 = true,
}

local function invalid(fn, message)
  return nil, make_error('INVALID', 'crypto.' .. fn .. ': ' .. message, false)
end

local function failed(fn, message)
  return nil, make_error('INTERNAL', 'crypto.' .. fn .. ': ' .. message, false)
end

local function not_a(fn, argument, expected, value)
  return invalid(fn, argument .. ' must be ' .. expected .. ', got ' .. type(value))
end

--- An integer argument (an integral float counts) within [low, high], or nil and the error.
local function count(fn, argument, value, low, high)
  if type(value) ~= 'number' then return not_a(fn, argument, 'an integer', value) end
  if math_type(value) == 'float' and (value ~= floor(value) or value ~= value) then
    return invalid(fn, argument .. ' must be an integer, got ' .. value)
  end
  if value < low or value > high then
    return invalid(fn, argument .. ' must be between ' .. low .. ' and ' .. high .. ', got ' .. value)
  end
  return floor(value)
end

local crypto = { random = {}, hmac = {}, encrypt = {}, decrypt = {}, jwt = {} }

-- ── random ───────────────────────────────────────────────────────────────────────────────

--- The host's answer: the value, or false, kind and message (a workflow's bound on what it
--- journals).
local function drawn(value, kind, message)
  if value == false then return nil, make_error(kind, message, false) end
  return value
end

function crypto.random.bytes(length)
  local n, err = count('random.bytes', 'length', length, 1, MAX_RANDOM)
  if n == nil then return nil, err end
  return drawn(host.random_bytes(n))
end

function crypto.random.string(length, charset)
  local n, err = count('random.string', 'length', length, 1, MAX_RANDOM)
  if n == nil then return nil, err end
  if charset == nil then charset = ALPHANUMERIC end
  if type(charset) ~= 'string' then return not_a('random.string', 'charset', 'a string', charset) end
  if #charset == 0 or #charset > 65536 then
    return invalid('random.string', 'charset must have 1 to 65536 bytes, got ' .. #charset)
  end
  return drawn(host.random_string(n, charset))
end

function crypto.random.uuid() return uuid.v4() end

-- ── hmac ─────────────────────────────────────────────────────────────────────────────────

for _, digest in ipairs({ 'sha256', 'sha512' }) do
  local fn = 'hmac.' .. digest
  crypto.hmac[digest] = function(key, data)
    if type(key) ~= 'string' then return not_a(fn, 'key', 'a string', key) end
    if key == '' then return invalid(fn, 'key must not be empty') end
    if type(data) ~= 'string' then return not_a(fn, 'data', 'a string', data) end
    return host.hmac(digest, key, data)
  end
end

-- ── encrypt, decrypt ─────────────────────────────────────────────────────────────────────

local function check_key(fn, aead, key)
  if type(key) ~= 'string' then return not_a(fn, 'key', 'a string', key) end
  if aead == 'aes' and not AES_KEY_SIZES[#key] then
    return invalid(fn, 'key must be 16, 24 or 32 bytes (AES-128, -192, -256), got ' .. #key)
  end
  if aead == 'chacha20' and #key ~= 32 then
    return invalid(fn, 'key must be 32 bytes, got ' .. #key)
  end
  return true
end

for _, aead in ipairs({ 'aes', 'chacha20' }) do
  local sealing, opening = 'encrypt.' .. aead, 'decrypt.' .. aead

  crypto.encrypt[aead] = function(data, key, aad)
    if type(data) ~= 'string' then return not_a(sealing, 'data', 'a string', data) end
    local ok, err = check_key(sealing, aead, key)
    if not ok then return nil, err end
    if aad ~= nil and type(aad) ~= 'string' then return not_a(sealing, 'aad', 'a string or nil', aad) end
    return host.seal(aead, key, data, aad)
  end

  crypto.decrypt[aead] = function(data, key, aad)
    if type(data) ~= 'string' then return not_a(opening, 'data', 'a string', data) end
    local ok, err = check_key(opening, aead, key)
    if not ok then return nil, err end
    if aad ~= nil and type(aad) ~= 'string' then return not_a(opening, 'aad', 'a string or nil', aad) end
    if #data < SEALED_OVERHEAD then
      return invalid(opening, 'data is ' .. #data .. ' bytes, shorter than the ' .. SEALED_OVERHEAD ..
        ' of a nonce and a tag')
    end
    local plaintext = host.open(aead, key, data, aad)
    if plaintext == false then
      return failed(opening, 'the data does not authenticate (wrong key or AAD, or altered data)')
    end
    return plaintext
  end
end

-- ── jwt ──────────────────────────────────────────────────────────────────────────────────

local function check_jwt_key(fn, alg, key)
  if type(key) ~= 'string' then return not_a(fn, 'key', 'a string', key) end
  if key == '' then return invalid(fn, 'key must not be empty') end
  if not JWT_ALGORITHMS[alg] then
    return invalid(fn, 'unsupported algorithm "' .. tostring(alg) ..
      '" (HS256, HS384, HS512, RS256, RS384 or RS512)')
  end
  return true
end

--- A table as JSON object text: an empty table is {}, an array is refused.
local function json_object(fn, what, t)
  local text, err = json.encode(t)
  if text == nil then return invalid(fn, what .. ': ' .. err:message()) end
  if text == '[]' then return '{}' end
  if text:sub(1, 1) ~= '{' then return invalid(fn, what .. ' must have string keys, not be an array') end
  return text
end

function crypto.jwt.encode(claims, key, alg)
  if type(claims) ~= 'table' then return not_a('jwt.encode', 'claims', 'a table', claims) end
  alg = alg == nil and 'HS256' or alg
  local ok, err = check_jwt_key('jwt.encode', alg, key)
  if not ok then return nil, err end
  local header = claims._header
  if header == nil then header = {} end
  if type(header) ~= 'table' then return not_a('jwt.encode', 'claims._header', 'a table', header) end
  local body = {}
  for k, v in next, claims do
    if k ~= '_header' then body[k] = v end
  end
  local header_json, header_err = json_object('jwt.encode', 'claims._header', header)
  if header_json == nil then return nil, header_err end
  local body_json, body_err = json_object('jwt.encode', 'claims', body)
  if body_json == nil then return nil, body_err end
  local token, kind, message = host.jwt_sign(alg, header_json, body_json, key)
  if token == false then return nil, make_error(kind, message, false) end
  return token
end

function crypto.jwt.verify(token, key, alg, require_exp)
  if type(token) ~= 'string' then return not_a('jwt.verify', 'token', 'a string', token) end
  alg = alg == nil and 'HS256' or alg
  local ok, err = check_jwt_key('jwt.verify', alg, key)
  if not ok then return nil, err end
  local claims_json, kind, message = host.jwt_verify(token, alg, key, require_exp ~= false)
  if claims_json == false then return nil, make_error(kind, message, false) end
  local claims, decode_err = json.decode(claims_json)
  if claims == nil then return failed('jwt.verify', 'the claims do not decode: ' .. decode_err:message()) end
  return claims
end

-- ── pbkdf2, compare ──────────────────────────────────────────────────────────────────────

function crypto.pbkdf2(password, salt, iterations, length, digest)
  if type(password) ~= 'string' then return not_a('pbkdf2', 'password', 'a string', password) end
  if password == '' then return invalid('pbkdf2', 'password must not be empty') end
  if type(salt) ~= 'string' then return not_a('pbkdf2', 'salt', 'a string', salt) end
  if salt == '' then return invalid('pbkdf2', 'salt must not be empty') end
  local rounds, err = count('pbkdf2', 'iterations', iterations, 1, MAX_ITERATIONS)
  if rounds == nil then return nil, err end
  local n, length_err = count('pbkdf2', 'key_length', length, 1, MAX_RANDOM)
  if n == nil then return nil, length_err end
  digest = digest == nil and 'sha256' or digest
  if not PBKDF2_DIGESTS[digest] then
    return invalid('pbkdf2', 'unsupported hash "' .. tostring(digest) .. '" (sha256 or sha512)')
  end
  -- The derivation runs on the node's thread, where nothing preempts it: each block of the key
  -- costs `iterations` hashes, and together they are bounded as one block's iterations are.
  local block = PBKDF2_DIGESTS[digest]
  local blocks = (n + block - 1) // block
  if rounds * blocks > MAX_ITERATIONS then
    return invalid('pbkdf2', 'iterations × blocks of ' .. block .. ' bytes of the key '
      .. '(' .. rounds .. ' × ' .. blocks .. ') must be at most ' .. MAX_ITERATIONS)
  end
  return host.pbkdf2(password, salt, rounds, n, digest)
end

function crypto.constant_time_compare(a, b)
  if type(a) ~= 'string' then return not_a('constant_time_compare', 'a', 'a string', a) end
  if type(b) ~= 'string' then return not_a('constant_time_compare', 'b', 'a string', b) end
  return host.equal(a, b)
end

return crypto
