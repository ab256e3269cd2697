import { defineLuactProject } from '../../vitest.shared.js';

export default defineLuactProject('nats');
