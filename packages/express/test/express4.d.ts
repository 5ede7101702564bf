// Express 4 is installed under the alias `express4` to test the middleware on both majors; the
// Express 5 type definitions describe the parts the tests use.
declare module 'express4' {
  import express from 'express';
  export default express;
}
