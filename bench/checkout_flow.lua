-- wrk script: each connection loops through a whole HTTP checkout
-- (new cart, add one item, shipping quotes, payment methods, place the order).
-- Run with as many threads as connections (-t4 -c4): wrk's Lua state is per thread,
-- so one connection per thread keeps each flow's requests in order.
-- SKUS_FILE (env) names a file with one SKU per line.
local skus, threads = {}, {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("SKUS_FILE")) do table.insert(skus, line) end
  math.randomseed(os.time() + #threads)
  step, cart, quote, method, orders, failures = 0, "", "", "", 0, 0
  address = '{"name":"Bench","line1":"1 rue du Test","postal_code":"75001","city":"Paris","country":"FR"}'
  json = {["Content-Type"] = "application/json"}
end

function request()
  if step == 0 then
    return wrk.format("POST", "/api/v1/carts", json, "{}")
  elseif step == 1 then
    return wrk.format("POST", "/api/v1/carts/" .. cart .. "/items", json,
                      '{"sku":"' .. skus[math.random(#skus)] .. '"}')
  elseif step == 2 then
    return wrk.format("POST", "/api/v1/carts/" .. cart .. "/shipping-quotes", json, '{"address":' .. address .. '}')
  elseif step == 3 then
    return wrk.format("GET", "/api/v1/carts/" .. cart .. "/payment-methods")
  end
  return wrk.format("POST", "/api/v1/checkout", json,
    '{"cart_token":"' .. cart .. '","email":"bench@example.com","address":' .. address ..
    ',"shipping_quote_id":"' .. quote .. '","payment_method_id":"' .. method .. '"}')
end

function response(status, headers, body)
  local ok = status < 300
  if step == 0 and ok then cart = body:match('"token"%s*:%s*"([^"]+)"')
  elseif step == 2 and ok then quote = body:match('"id"%s*:%s*"([^"]+)"')
  elseif step == 3 and ok then method = body:match('"id"%s*:%s*"([^"]+)"')
  elseif step == 4 and status == 201 then orders = orders + 1
  end
  if not ok or (step == 4 and status ~= 201) then failures = failures + 1; step = 0; return end
  step = (step + 1) % 5
end

function done(summary, latency, requests)
  local total, failed = 0, 0
  for _, t in ipairs(threads) do total = total + t:get("orders"); failed = failed + t:get("failures") end
  io.write(string.format("ORDERS %d FAILURES %d SECONDS %.3f\n", total, failed, summary.duration / 1e6))
end
