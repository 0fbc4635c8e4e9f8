// The page of `rnc serve`: upload a photo to POST /v1/{task}/progressive and show each iteration
// as its JSON line arrives (docs/server.md, "The page").
"use strict";

const form = document.getElementById("send-form");
const input = document.getElementById("photo");
const dropZone = document.getElementById("drop-zone");
const dropText = document.getElementById("drop-text");
const statusLine = document.getElementById("status");
const stepsSection = document.getElementById("steps");
let chosen = null;

function formatBytes(n) {
  return n.toLocaleString("en") + " B";
}

function describeAnswer(step, task) {
  if (!step.results.length) return task === "detect" ? "no object found" : "no answer";
  if (task === "detect") {
    return step.results.map((o) => `${o.label} ${(o.score * 100).toFixed(1)}%`).join(", ");
  }
  const top = step.results[0];
  return `${top.label} ${(top.probability * 100).toFixed(1)}%`;
}

function addStep(step, task) {
  const card = document.createElement("figure");
  card.className = "step" + (step.stop ? " final" : "");
  const image = document.createElement("img");
  image.src = step.image;
  image.alt = `decoded from ${step.iterations} iteration(s)`;
  image.className = "decoded";
  const caption = document.createElement("figcaption");
  const ratio = step.original_bytes / step.bytes_sent;
  caption.innerHTML =
    `<strong>iteration ${step.iterations}</strong>` +
    `<span class="answer">${describeAnswer(step, task)}</span>` +
    `<span class="confidence">confidence ${step.confidence.toFixed(3)}</span>` +
    `<span class="bytes">${formatBytes(step.bytes_sent)} sent of the original's ` +
    `${formatBytes(step.original_bytes)} (1/${ratio.toFixed(1)})</span>`;
  card.append(image, caption);
  stepsSection.append(card);
}

function originalCard(file) {
  const card = document.createElement("figure");
  card.className = "original";
  const image = document.createElement("img");
  image.src = URL.createObjectURL(file);
  image.alt = "the original photo";
  const caption = document.createElement("figcaption");
  caption.innerHTML = `<strong>original</strong><span class="bytes">${formatBytes(file.size)}</span>`;
  card.append(image, caption);
  return card;
}

async function send(file) {
  const task = document.getElementById("task").value;
  const iterations = document.getElementById("iterations").value;
  const stopAt = document.getElementById("stop-at").value;
  stepsSection.replaceChildren(originalCard(file));
  statusLine.textContent = `Sending ${file.name} (${formatBytes(file.size)})…`;
  const query = new URLSearchParams({ iterations });
  if (stopAt !== "") query.set("stop_at_confidence", stopAt);
  let response;
  try {
    response = await fetch(`/v1/${task}/progressive?${query}`, { method: "POST", body: file });
  } catch (error) {
    statusLine.textContent = `Cannot reach the server: ${error}`;
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    statusLine.textContent = `Refused: ${body.error ? body.error.message : response.statusText}`;
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const message = JSON.parse(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      if (message.type === "step") {
        addStep(message, task);
        statusLine.textContent = `Iteration ${message.iterations} of at most ${message.iterations_max}…`;
      } else if (message.type === "done") {
        statusLine.textContent = message.reason === "confident"
          ? `Sure enough (confidence ≥ ${message.stop_at_confidence}): stopped.`
          : "Every iteration sent.";
      } else if (message.type === "error") {
        statusLine.textContent = `Error: ${message.error.message}`;
      }
    }
  }
}

function choose(file) {
  chosen = file;
  dropText.textContent = `${file.name} (${formatBytes(file.size)})`;
}

input.addEventListener("change", () => { if (input.files.length) choose(input.files[0]); });
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (chosen) send(chosen); else statusLine.textContent = "Pick or drop a photo first.";
});
dropZone.addEventListener("dragover", (event) => { event.preventDefault(); dropZone.classList.add("over"); });
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("over");
  if (event.dataTransfer.files.length) {
    choose(event.dataTransfer.files[0]);
    send(chosen);
  }
});

fetch("/v1/health").then((r) => r.json()).then((health) => {
  for (const option of document.querySelectorAll("#task option")) {
    option.disabled = !health.tasks.includes(option.value);
  }
  const served = document.querySelector("#task option:not([disabled])");
  if (served) document.getElementById("task").value = served.value;
}).catch(() => {});
