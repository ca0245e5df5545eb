// The Streamlit component protocol (API version 1), spoken directly: the page sends
// "streamlit:render" with the arguments; the component says it is ready, sets its height
// and (rarely) sends a value back, which reruns the page's script.

function send(type, data = {}) {
    window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, "*");
}

/** Tell the page the component is ready for its first render message. */
export function componentReady() {
    send("streamlit:componentReady", { apiVersion: 1 });
}

/** Ask the page for a frame of this height (CSS pixels). */
export function setFrameHeight(height) {
    send("streamlit:setFrameHeight", { height: Math.ceil(height) });
}

/** Send a JSON value to the page's script (the page reruns). */
export function setComponentValue(value) {
    send("streamlit:setComponentValue", { value, dataType: "json" });
}

/** Call ``onRender(args)`` for every render message (bytes arguments come as Uint8Array). */
export function listen(onRender) {
    window.addEventListener("message", (event) => {
        const data = event.data;
        if (data && data.type === "streamlit:render") {
            onRender(data.args || {}, data.theme || null);
        }
    });
}
