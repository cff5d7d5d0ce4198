export { buildApi, type HttpApi } from './api.js';
export { httpFrontDoor, parseListenAddress, type HttpFrontDoorOptions } from './front-door.js';
export { HTTP_DEFAULTS, type HttpApiOptions } from './options.js';
