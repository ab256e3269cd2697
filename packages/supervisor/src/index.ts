export { restartDelay } from './backoff.js';
export { type ServiceStates, supervisorModule } from './lua-module.js';
export { OtpSupervisor, type SupervisorEnvironment } from './otp-supervisor.js';
export { ProcessRunnable } from './process-runnable.js';
export type { Runnable, RunnableEvents } from './runnable.js';
export { type ServiceEvent, type ServiceState, serviceMachine } from './service-machine.js';
export { ServiceManager, type ServiceManagerOptions } from './service-manager.js';
export { ServiceRunner, type ServiceRunnerOptions, type ServiceStatus } from './service-runner.js';
export { type StartProblem, startProblems } from './start-report.js';
