-- luact_test: hooks for luact's own tests, present only on a node started with test hooks
-- (LUACT_TEST_HOOKS=1); never for applications.
--   luact_test.freeze_worker()   blocks the worker thread the calling process runs on for
--                                good, where no hook and no event loop runs (a C loop's
--                                effect): its watchdog must find it and replace it
--   luact_test.fail_worker(how)  ends the worker thread on its own: "throw" (an uncaught
--                                exception) or "exit" (the thread exits)
local host = ...

return {
  freeze_worker = function() host.freeze_worker() end,
  fail_worker = function(how) host.fail_worker(how == nil and 'throw' or how) end,
}
