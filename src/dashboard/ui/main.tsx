/** The dashboard's entry: drawn into #app; every link stays in the page. */
import { render } from 'preact';
import { App } from './app.js';
import { installLinkHandler } from './router.js';
import './style.css';

installLinkHandler();
render(<App />, document.getElementById('app')!);
