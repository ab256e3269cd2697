local workflow = require("workflow")

local function check(condition, message)
  if not condition then error(message, 2) end
end

return {
  settled_order = function()
    local result = workflow.exec("examples.workflows:order_processor", { id = "o-1", amount = 1999 })
    check(result.status == "settled" and result.refund == nil, "a settled order is kept")
    return true
  end,

  bounced_payment = function()
    local time = require("time")
    local t0 = time.now()
    local result = workflow.exec("examples.workflows:order_processor", { id = "o-2", amount = 1013 })
    check(result.status == "bounced", "the payment bounced")
    check(result.refund.refunded == result.payment, "the bounced payment was refunded")
    check(time.now():sub(t0):hours() >= 24, "a day of workflow time passed")
    return true
  end,

  fan_out = function()
    local result = workflow.exec("examples.workflows:fan_out", { 1, 2, 3, 4 })
    for i, expected in ipairs({ 1, 4, 9, 16 }) do
      check(result.results[i] == expected, "child " .. i .. " squared its item")
    end
    return true
  end,
}
