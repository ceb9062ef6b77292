/**
 * Network diagnostics from the SDK: `runDoctor()` runs every check of `pairgate doctor` and returns
 * the report object, which the remote-support agent can send to the supporter as JSON.
 */
export { formatDoctorReport, runDoctor, type CheckStatus, type DoctorCheck, type DoctorOptions, type DoctorReport } from '../doors/lan/doctor.js';
